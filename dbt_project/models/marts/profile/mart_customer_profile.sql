{#- One row per customer: who they are, their latest point-in-time features and the latest score
    of each model up to the current snapshot (int_current_snapshots_resolved), with its reasons and
    the model version that produced it, and the customer's current tags (lifecycle stage, RFM
    segment, value tier and all tag codes). -#}

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

latest_churn as (
    select distinct on (s.cid) s.*
    from scores as s
    inner join current_snapshots as cs
        on s.task = cs.snapshot_source and s.as_of_date <= cs.as_of_date
    where s.task = 'churn_180d'
    order by s.cid asc, s.as_of_date desc
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
        ct.current_tag_names_cn
    from customers as c
    left join latest_features as f on c.cid = f.cid
    left join latest_churn as s on c.cid = s.cid
    left join current_tags as ct on c.cid = ct.cid
)

select * from final
