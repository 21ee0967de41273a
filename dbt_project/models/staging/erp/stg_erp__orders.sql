with source as (
    select * from {{ source('erp', 'erp__orders') }}
),

final as (
    select
        order_id,
        customer_code,
        ordered_at,
        status as order_status,
        -- the status is optional: only an order the ERP says is cancelled is one
        coalesce(lower(trim(status)) = 'cancelled', false) as is_cancelled,
        coalesce(change_count, 0) as change_count,
        total_amount_cny as order_amount_cny,
        updated_at,
        {{ version_columns(['order_id']) }}
    from source
)

select * from final
