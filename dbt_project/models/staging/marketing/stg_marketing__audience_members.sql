with source as (
    select * from {{ source('marketing', 'marketing__audience_members') }}
),

final as (
    select
        campaign_id,
        account_id,
        lower(trim(assignment)) as assignment,
        sent_at,
        contact_email,
        {{ version_columns(['campaign_id', 'account_id']) }}
    from source
)

select * from final
