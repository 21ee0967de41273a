with source as (
    select * from {{ source('marketing', 'marketing__campaigns') }}
),

final as (
    select
        campaign_id,
        campaign_name,
        lower(trim(goal)) as campaign_goal,
        lower(trim(channel)) as campaign_channel,
        nullif(trim(offer), '') as campaign_offer,
        nullif(trim(content), '') as campaign_content,
        audience_rule,
        -- a free campaign may leave the cost empty: it costs nothing
        coalesce(cost_cny, 0) as cost_cny,
        starts_on,
        ends_on,
        -- the window within which responses and orders count, from the start day
        coalesce(response_window_days, 30)::integer as response_window_days,
        created_at,
        {{ version_columns(['campaign_id']) }}
    from source
)

select * from final
