with source as (
    select * from {{ source('erp', 'erp__order_lines') }}
),

final as (
    select
        order_id,
        line_no,
        material_id,
        quantity,
        unit,
        unit_price_cny,
        list_price_cny,
        amount_cny,
        {{ version_columns(['order_id', 'line_no']) }}
    from source
)

select * from final
