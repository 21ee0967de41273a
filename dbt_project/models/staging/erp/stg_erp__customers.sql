with source as (
    select * from {{ source('erp', 'erp__customers') }}
),

final as (
    select
        customer_code,
        customer_name,
        tax_id as credit_code_raw,
        city,
        province,
        country,
        address,
        phone,
        contact_person,
        credit_limit_cny,
        payment_terms_days,
        created_at,
        updated_at,
        {{ version_columns(['customer_code']) }}
    from source
)

select * from final
