{#- Campaign KPIs, one row per campaign and breakdown: the whole audience ('all'), each
    segment and each lifecycle stage at the start. Response rates are the treated members'
    (the holdout is never contacted); conversion, revenue, repurchase and retention are given
    for both arms, from the ERP's orders; incremental figures are treated minus holdout, scaled
    to the treated members; cost is shared out over a breakdown by its treated members.
    A rate whose denominator is 0 is null, never 0. -#}

with members as (
    select * from {{ ref('mart_campaign_members') }}
    where assignment in ('treatment', 'holdout')
),

campaigns as (
    select * from {{ ref('stg_marketing__campaigns') }}
    where superseded_at is null
),

grouped as (
    select
        campaign_id,
        case
            when grouping(segment_name) = 0 then 'segment'
            when grouping(lifecycle_stage) = 0 then 'lifecycle_stage'
            else 'all'
        end as breakdown,
        coalesce(
            case when grouping(segment_name) = 0 then segment_name end,
            case when grouping(lifecycle_stage) = 0 then lifecycle_stage end,
            'all'
        ) as breakdown_value,
        count(*) filter (where assignment = 'treatment')::integer as members_treatment,
        count(*) filter (where assignment = 'holdout')::integer as members_holdout,
        count(*) filter (where assignment = 'treatment' and delivered)::integer as delivered,
        count(*) filter (where assignment = 'treatment' and opened)::integer as opened,
        count(*) filter (where assignment = 'treatment' and clicked)::integer as clicked,
        count(*) filter (where assignment = 'treatment' and replied)::integer as replied,
        count(*) filter (where assignment = 'treatment' and sample_requested)::integer
            as sample_requests,
        count(*) filter (where assignment = 'treatment' and meeting_booked)::integer as meetings,
        count(*) filter (where assignment = 'treatment' and unsubscribed)::integer
            as unsubscribes,
        count(*) filter (where assignment = 'treatment' and converted)::integer
            as conversions_treatment,
        count(*) filter (where assignment = 'holdout' and converted)::integer
            as conversions_holdout,
        avg(converted::int) filter (where assignment = 'treatment') as conversion_rate_treatment,
        avg(converted::int) filter (where assignment = 'holdout') as conversion_rate_holdout,
        avg(revenue_window_cny) filter (where assignment = 'treatment')
            as revenue_window_per_member_treatment,
        avg(revenue_window_cny) filter (where assignment = 'holdout')
            as revenue_window_per_member_holdout,
        avg(revenue_90d_cny) filter (where assignment = 'treatment')
            as revenue_90d_per_member_treatment,
        avg(revenue_90d_cny) filter (where assignment = 'holdout')
            as revenue_90d_per_member_holdout,
        avg(repurchased_30d::int) filter (where assignment = 'treatment')
            as repurchase_rate_30d_treatment,
        avg(repurchased_30d::int) filter (where assignment = 'holdout')
            as repurchase_rate_30d_holdout,
        avg(repurchased_90d::int) filter (where assignment = 'treatment')
            as repurchase_rate_90d_treatment,
        avg(repurchased_90d::int) filter (where assignment = 'holdout')
            as repurchase_rate_90d_holdout,
        avg(retained_90d::int) filter (where assignment = 'treatment')
            as retention_rate_90d_treatment,
        avg(retained_90d::int) filter (where assignment = 'holdout')
            as retention_rate_90d_holdout,
        bool_and(window_closed) as window_closed,
        bool_and(window_90d_closed) as window_90d_closed
    from members
    group by grouping sets ((campaign_id), (campaign_id, segment_name), (campaign_id, lifecycle_stage))
),

campaign_treated as (
    select campaign_id, members_treatment as campaign_members_treatment
    from grouped
    where breakdown = 'all'
),

costed as (
    select
        g.*,
        c.campaign_name,
        c.campaign_goal,
        c.campaign_channel,
        c.campaign_offer,
        c.campaign_content,
        c.starts_on,
        c.response_window_days,
        (c.cost_cny * g.members_treatment / nullif(t.campaign_members_treatment, 0))::numeric(16, 2)
            as cost_cny,
        (g.conversion_rate_treatment - g.conversion_rate_holdout) * g.members_treatment
            as incremental_conversions,
        (g.revenue_90d_per_member_treatment - g.revenue_90d_per_member_holdout)
        * g.members_treatment as incremental_revenue_90d_cny
    from grouped as g
    inner join campaigns as c on g.campaign_id = c.campaign_id
    inner join campaign_treated as t on g.campaign_id = t.campaign_id
),

final as (
    select
        campaign_id,
        breakdown,
        breakdown_value,
        campaign_name,
        campaign_goal,
        campaign_channel,
        campaign_offer,
        campaign_content,
        starts_on,
        response_window_days,
        members_treatment,
        members_holdout,
        delivered,
        opened,
        clicked,
        replied,
        sample_requests,
        meetings,
        unsubscribes,
        (delivered::double precision / nullif(members_treatment, 0)) as delivery_rate,
        (opened::double precision / nullif(delivered, 0)) as open_rate,
        (clicked::double precision / nullif(delivered, 0)) as click_through_rate,
        (replied::double precision / nullif(delivered, 0)) as reply_rate,
        (sample_requests::double precision / nullif(delivered, 0)) as sample_request_rate,
        (meetings::double precision / nullif(delivered, 0)) as meeting_rate,
        (unsubscribes::double precision / nullif(delivered, 0)) as unsubscribe_rate,
        conversions_treatment,
        conversions_holdout,
        conversion_rate_treatment::double precision as conversion_rate_treatment,
        conversion_rate_holdout::double precision as conversion_rate_holdout,
        revenue_window_per_member_treatment::numeric(16, 2) as revenue_window_per_member_treatment,
        revenue_window_per_member_holdout::numeric(16, 2) as revenue_window_per_member_holdout,
        revenue_90d_per_member_treatment::numeric(16, 2) as revenue_90d_per_member_treatment,
        revenue_90d_per_member_holdout::numeric(16, 2) as revenue_90d_per_member_holdout,
        repurchase_rate_30d_treatment::double precision as repurchase_rate_30d_treatment,
        repurchase_rate_30d_holdout::double precision as repurchase_rate_30d_holdout,
        repurchase_rate_90d_treatment::double precision as repurchase_rate_90d_treatment,
        repurchase_rate_90d_holdout::double precision as repurchase_rate_90d_holdout,
        retention_rate_90d_treatment::double precision as retention_rate_90d_treatment,
        retention_rate_90d_holdout::double precision as retention_rate_90d_holdout,
        incremental_conversions::double precision as incremental_conversions,
        incremental_revenue_90d_cny::numeric(16, 2) as incremental_revenue_90d_cny,
        cost_cny,
        -- a free campaign's conversions cost 0; none converted: no cost per conversion
        (cost_cny / nullif(conversions_treatment, 0))::numeric(16, 2) as cost_per_conversion_cny,
        case
            when incremental_conversions > 0
                then (cost_cny / incremental_conversions::numeric)::numeric(16, 2)
        end as cost_per_incremental_conversion_cny,
        -- return on the money spent: undefined for a free campaign
        ((incremental_revenue_90d_cny - cost_cny) / nullif(cost_cny, 0))::double precision as roi_90d,
        window_closed,
        window_90d_closed
    from costed
)

select * from final
