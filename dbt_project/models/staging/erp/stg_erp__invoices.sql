with source as (
    select * from {{ source('erp', 'erp__invoices') }}
),

final as (
    select
        invoice_id,
        order_id,
        customer_code,
        issued_at,
        due_at,
        amount_cny as invoice_amount_cny,
        {{ version_columns(['invoice_id']) }}
    from source
)

select * from final
