with source as (
    select * from {{ source('erp', 'erp__payments') }}
),

final as (
    select
        payment_id,
        invoice_id,
        customer_code,
        paid_at,
        amount_cny as payment_amount_cny,
        {{ version_columns(['payment_id']) }}
    from source
)

select * from final
