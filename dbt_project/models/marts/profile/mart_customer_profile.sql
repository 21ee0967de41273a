{#- One row per customer: who they are, their latest point-in-time features and the latest score
    of each model up to the current snapshot (int_current_snapshots_resolved), with its reasons and
    the model version that produced it, and the customer's current tags (lifecycle stage, RFM
    segment, value tier and all tag codes); the profile service's list and facets read it
    (indexes on the facets it filters by most). -#}
{{ config(post_hook=[
    "create unique index on {{ this }} (cid)",
    "create index on {{ this }} (industry)",
    "create index on {{ this }} (region)",
    "create index on {{ this }} (lifecycle_stage)",
    "create index on {{ this }} (value_tier)",
]) }}

with customer_ids as (
    select * from {{ ref('customer_ids') }}
),

features as (
    select * from {{ ref('customer_features') }}
),

scores as (
    select * from {{ ref('stg_ml__customer_scores') }}
),

current_snapshots as (
    select * from {{ ref('int_current_snapshots_resolved') }}
),

segments as (
    select * from {{ ref('stg_ml__customer_segments') }}
),

golden as (
    select * from {{ ref('dim_customer') }}
),

churn_watchlist as (
    select * from {{ ref('mart_churn_watchlist') }}
),

credit_watchlist as (
    select * from {{ ref('mart_credit_watchlist') }}
),

customer_tags as (
    select * from {{ ref('mart_customer_tags') }}
    where is_current
),

tag_catalog as (
    select * from {{ ref('mart_tag_catalog') }}
),

customers as (
    select
        cid,
        count(*) filter (where source_system = 'erp') as erp_customer_code_count
    from customer_ids
    group by cid
),

current_tags as (
    select
        t.cid,
        max(t.tag_value) filter (where t.tag_group = 'lifecycle_stage') as lifecycle_stage,
        max(t.tag_value) filter (where t.tag_group = 'rfm_segment') as rfm_segment,
        max(t.tag_value) filter (where t.tag_group = 'value_tier') as value_tier,
        string_agg(t.tag_code, ',' order by c.catalog_order) as current_tags,
        string_agg(t.name_cn, '、' order by c.catalog_order) as current_tag_names_cn
    from customer_tags as t
    inner join tag_catalog as c on t.tag_code = c.tag_code
    group by t.cid
),

latest_features as (
    -- the customer's latest snapshot up to the current one
    select distinct on (f.cid) f.*
    from features as f
    inner join current_snapshots as cs
        on cs.snapshot_source = 'features' and f.as_of_date <= cs.as_of_date
    order by f.cid asc, f.as_of_date desc
),

latest_scores as (
    -- each model's latest score up to its current snapshot
    select distinct on (s.task, s.cid) s.*
    from scores as s
    inner join current_snapshots as cs
        on s.task = cs.snapshot_source and s.as_of_date <= cs.as_of_date
    order by s.task asc, s.cid asc, s.as_of_date desc
),

latest_churn as (
    select * from latest_scores
    where task = 'churn_180d'
),

latest_credit as (
    select * from latest_scores
    where task = 'default_90dpd_180d'
),

latest_purchase as (
    select * from latest_scores
    where task = 'purchase_30d'
),

latest_segments as (
    select distinct on (cid) *
    from segments
    order by cid asc, as_of_date desc
),

final as (
    select
        c.cid,
        c.erp_customer_code_count::integer as erp_customer_code_count,
        f.as_of_date as features_as_of_date,
        f.days_since_last_order,
        f.orders_365d::integer as orders_365d,
        f.revenue_cny_365d::numeric(18, 2) as revenue_cny_365d,
        f.revenue_trend_90d::numeric(18, 4) as revenue_trend_90d,
        s.score::double precision as churn_score,
        s.band as churn_band,
        concat_ws('; ', s.reason_1, s.reason_2, s.reason_3) as churn_reasons,
        s.model_name || ' v' || s.model_version || ' @' || s.model_alias as churn_model,
        s.as_of_date as churn_scored_as_of_date,
        ct.lifecycle_stage,
        ct.rfm_segment,
        ct.value_tier,
        ct.current_tags,
        ct.current_tag_names_cn,
        g.customer_name,
        f.customer_type,
        f.industry,
        f.region,
        g.city,
        g.owner_sales,
        cr.score::double precision as credit_pd,
        cr.band as credit_grade,
        concat_ws('; ', cr.reason_1, cr.reason_2, cr.reason_3) as credit_reasons,
        cr.model_name || ' v' || cr.model_version || ' @' || cr.model_alias as credit_model,
        pu.score::double precision as purchase_score,
        pu.band as purchase_band,
        concat_ws('; ', pu.reason_1, pu.reason_2, pu.reason_3) as purchase_reasons,
        pu.model_name || ' v' || pu.model_version || ' @' || pu.model_alias as purchase_model,
        f.overdue_balance_cny::numeric(18, 2) as overdue_balance_cny,
        f.credit_limit_use::numeric(18, 4) as credit_limit_use,
        f.late_invoice_share_365d::numeric(18, 4) as late_invoice_share_365d,
        f.tickets_365d::integer as tickets_365d,
        f.complaint_tickets_365d::integer as complaint_tickets_365d,
        f.avg_satisfaction_365d::numeric(18, 4) as avg_satisfaction_365d,
        f.sample_requests_365d::integer as sample_requests_365d,
        sg.segment_id::integer as segment_id,
        sg.segment_name,
        sg.pc1::double precision as segment_pc1,
        sg.pc2::double precision as segment_pc2,
        exists(
            select 1 from churn_watchlist as w
            where w.cid = c.cid
        ) as on_churn_watchlist,
        exists(
            select 1 from credit_watchlist as w
            where w.cid = c.cid
        ) as on_credit_watchlist
    from customers as c
    left join latest_features as f on c.cid = f.cid
    left join latest_churn as s on c.cid = s.cid
    left join latest_credit as cr on c.cid = cr.cid
    left join latest_purchase as pu on c.cid = pu.cid
    left join latest_segments as sg on c.cid = sg.cid
    left join golden as g on c.cid = g.cid
    left join current_tags as ct on c.cid = ct.cid
)

select * from final
