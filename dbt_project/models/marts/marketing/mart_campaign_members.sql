{#- One row per campaign and customer in its audience: the assignment (treatment, holdout),
    where the customer stood at the start (lifecycle stage, segment, the 90 days before) and
    what happened after it — responses within the window, orders from the ERP within the
    window and 90 days. The base of the KPI, funnel and A/B marts and of the uplift model's
    training rows. Members reach the CID through their CRM account; a CID picked through
    two accounts with different assignments is a 'conflict' and stays out of comparisons. -#}
{{
    config(
        pre_hook="set local enable_nestloop = off",
    )
}}
{#- enable_nestloop off, for this statement only: the planner has no row counts for the
    materialized CTEs, guesses a handful of rows for each grouped one and joins them by nested
    loops, 18,000 x 18,000 on a 1,000-company world (over 100 s; hash joins: a few seconds). -#}
{%- set tz = var('business_timezone') %}

with campaigns as materialized (
    select * from {{ ref('stg_marketing__campaigns') }}
    where superseded_at is null
),

members as materialized (
    select * from {{ ref('stg_marketing__audience_members') }}
    where superseded_at is null
),

responses as materialized (
    select * from {{ ref('stg_marketing__responses') }}
    where superseded_at is null
),

account_ids as materialized (
    select source_record_id as account_id, cid from {{ ref('customer_ids') }}
    where source_system = 'crm' and source_table = 'accounts'
),

erp_ids as materialized (
    select source_record_id as customer_code, cid from {{ ref('customer_ids') }}
    where source_system = 'erp' and source_table = 'customers'
),

orders as materialized (
    -- the current version of every live order, by CID
    select ids.cid, o.ordered_at, o.order_amount_cny
    from {{ ref('stg_erp__orders') }} as o
    inner join erp_ids as ids on o.customer_code = ids.customer_code
    where o.superseded_at is null and not o.is_cancelled
),

latest_known as materialized (
    -- how far the ERP's data reaches: a window closes once orders are known past its end
    select max(known_at) as known_until from {{ ref('stg_erp__orders') }}
),

stages as materialized (
    select cid, as_of_date, lifecycle_stage from {{ ref('customer_lifecycle_stages') }}
),

segments as materialized (
    select cid, as_of_date, segment_name from {{ ref('stg_ml__customer_segments') }}
),

windows as materialized (
    select
        campaign_id,
        campaign_goal,
        campaign_channel,
        starts_on,
        response_window_days,
        (starts_on::timestamp at time zone '{{ tz }}') as start_at,
        ((starts_on + response_window_days::integer)::timestamp at time zone '{{ tz }}') as window_end_at,
        ((starts_on + 90)::timestamp at time zone '{{ tz }}') as end_90d_at
    from campaigns
),

member_cids as (
    select m.campaign_id, ids.cid, m.account_id, m.assignment, m.sent_at
    from members as m
    inner join account_ids as ids on m.account_id = ids.account_id
),

per_cid as materialized (
    select
        campaign_id,
        cid,
        case when count(distinct assignment) = 1 then min(assignment) else 'conflict' end
            as assignment,
        min(account_id) as account_id,
        count(*)::integer as member_accounts,
        min(sent_at) as sent_at
    from member_cids
    group by campaign_id, cid
),

order_outcomes as (
    select
        p.campaign_id,
        p.cid,
        count(*) filter (
            where o.ordered_at >= w.start_at - interval '90 days' and o.ordered_at < w.start_at
        )::integer as orders_90d_before,
        coalesce(sum(o.order_amount_cny) filter (
            where o.ordered_at >= w.start_at - interval '90 days' and o.ordered_at < w.start_at
        ), 0)::numeric(16, 2) as revenue_90d_before_cny,
        bool_or(o.ordered_at >= w.start_at - interval '365 days' and o.ordered_at < w.start_at)
            as ordered_365d_before,
        bool_or(o.ordered_at < w.start_at) as ordered_before,
        count(*) filter (
            where o.ordered_at >= w.start_at and o.ordered_at < w.window_end_at
        )::integer as orders_in_window,
        coalesce(sum(o.order_amount_cny) filter (
            where o.ordered_at >= w.start_at and o.ordered_at < w.window_end_at
        ), 0)::numeric(16, 2) as revenue_window_cny,
        bool_or(o.ordered_at >= w.start_at and o.ordered_at < w.start_at + interval '30 days')
            as ordered_30d,
        count(*) filter (
            where o.ordered_at >= w.start_at and o.ordered_at < w.end_90d_at
        )::integer as orders_90d,
        coalesce(sum(o.order_amount_cny) filter (
            where o.ordered_at >= w.start_at and o.ordered_at < w.end_90d_at
        ), 0)::numeric(16, 2) as revenue_90d_cny
    from per_cid as p
    inner join windows as w on p.campaign_id = w.campaign_id
    left join orders as o
        on
            p.cid = o.cid
            and o.ordered_at >= w.start_at - interval '365 days'
            and w.end_90d_at > o.ordered_at
    group by p.campaign_id, p.cid
),

response_flags as (
    select
        p.campaign_id,
        p.cid,
        bool_or(r.response_event = 'delivered') as delivered,
        bool_or(r.response_event = 'opened') as opened,
        bool_or(r.response_event = 'clicked') as clicked,
        bool_or(r.response_event = 'replied') as replied,
        bool_or(r.response_event = 'sample_requested') as sample_requested,
        bool_or(r.response_event = 'meeting_booked') as meeting_booked,
        bool_or(r.response_event = 'unsubscribed') as unsubscribed
    from per_cid as p
    inner join windows as w on p.campaign_id = w.campaign_id
    inner join account_ids as ids on p.cid = ids.cid
    inner join responses as r
        on
            p.campaign_id = r.campaign_id
            and ids.account_id = r.account_id
            and w.start_at <= r.occurred_at
            and w.window_end_at > r.occurred_at
    group by p.campaign_id, p.cid
),

stage_at_start as (
    select distinct on (p.campaign_id, p.cid)
        p.campaign_id, p.cid, s.lifecycle_stage
    from per_cid as p
    inner join windows as w on p.campaign_id = w.campaign_id
    inner join stages as s on p.cid = s.cid and w.starts_on > s.as_of_date
    order by p.campaign_id asc, p.cid asc, s.as_of_date desc
),

segment_at_start as (
    select distinct on (p.campaign_id, p.cid)
        p.campaign_id, p.cid, s.segment_name
    from per_cid as p
    inner join windows as w on p.campaign_id = w.campaign_id
    inner join segments as s on p.cid = s.cid and w.starts_on > s.as_of_date
    order by p.campaign_id asc, p.cid asc, s.as_of_date desc
),

final as (
    select
        p.campaign_id,
        p.cid,
        p.assignment,
        p.account_id,
        p.member_accounts,
        p.sent_at,
        w.campaign_goal,
        w.campaign_channel,
        w.starts_on,
        (w.starts_on - 1) as features_as_of_date,
        coalesce(st.lifecycle_stage, 'unknown') as lifecycle_stage,
        coalesce(sg.segment_name, 'unknown') as segment_name,
        oo.orders_90d_before,
        oo.revenue_90d_before_cny,
        coalesce(oo.ordered_365d_before, false) as ordered_365d_before,
        coalesce(r.delivered, false) as delivered,
        coalesce(r.opened, false) as opened,
        coalesce(r.clicked, false) as clicked,
        coalesce(r.replied, false) as replied,
        coalesce(r.sample_requested, false) as sample_requested,
        coalesce(r.meeting_booked, false) as meeting_booked,
        coalesce(r.unsubscribed, false) as unsubscribed,
        oo.orders_in_window > 0 as converted,
        oo.orders_in_window,
        oo.revenue_window_cny,
        oo.revenue_90d_cny,
        -- repurchase: of members who had bought before the start, who bought again
        case when oo.ordered_before then coalesce(oo.ordered_30d, false) end as repurchased_30d,
        case when oo.ordered_before then oo.orders_90d > 0 end as repurchased_90d,
        -- retention: of the year's buyers before the start, who still bought within 90 days
        case when oo.ordered_365d_before then oo.orders_90d > 0 end as retained_90d,
        coalesce(lk.known_until >= w.window_end_at, false) as window_closed,
        coalesce(lk.known_until >= w.end_90d_at, false) as window_90d_closed
    from per_cid as p
    inner join windows as w on p.campaign_id = w.campaign_id
    inner join order_outcomes as oo on p.campaign_id = oo.campaign_id and p.cid = oo.cid
    left join response_flags as r on p.campaign_id = r.campaign_id and p.cid = r.cid
    left join stage_at_start as st on p.campaign_id = st.campaign_id and p.cid = st.cid
    left join segment_at_start as sg on p.campaign_id = sg.campaign_id and p.cid = sg.cid
    cross join latest_known as lk
)

select * from final
