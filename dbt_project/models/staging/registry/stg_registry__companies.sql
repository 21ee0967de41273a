with source as (
    select * from {{ source('registry', 'registry__companies') }}
),

final as (
    select
        credit_code,
        legal_name,
        english_name,
        legal_form,
        province,
        city,
        address,
        industry,
        registered_capital_cny,
        founded_date,
        status as registry_status,
        updated_at,
        {{ version_columns(['credit_code']) }}
    from source
)

select * from final
