with source as (
    select * from {{ source('catalog', 'catalog__materials') }}
),

final as (
    select
        material_id,
        material_family,
        grade,
        name_cn as material_name_cn,
        name_en as material_name_en,
        unit,
        list_price_cny,
        {{ version_columns(['material_id']) }}
    from source
)

select * from final
