with source as (
    select * from {{ source('marketing', 'marketing__responses') }}
),

final as (
    select
        response_id,
        campaign_id,
        account_id,
        lower(trim(event)) as response_event,
        occurred_at,
        {{ version_columns(['response_id']) }}
    from source
)

select * from final
