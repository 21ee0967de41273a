with source as (
    select * from {{ source('crm', 'crm__accounts') }}
),

final as (
    select
        account_id,
        account_name,
        city,
        province,
        country,
        industry,
        customer_type,
        credit_code as credit_code_raw,
        phone,
        email,
        address,
        owner_sales,
        created_at,
        updated_at,
        {{ version_columns(['account_id']) }}
    from source
)

select * from final
