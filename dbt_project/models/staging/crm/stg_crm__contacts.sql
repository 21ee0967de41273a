with source as (
    select * from {{ source('crm', 'crm__contacts') }}
),

final as (
    select
        contact_id,
        account_id,
        contact_name,
        title as contact_title,
        phone,
        email,
        created_at,
        {{ version_columns(['contact_id']) }}
    from source
)

select * from final
