{{ config(post_hook="create index on {{ this }} (cid) where is_current") }}
{#- Every tag of every customer on every snapshot, long: rule tags, lifecycle stage, RFM segment and
    value tier from the tags layer (feature snapshots), plus the model tags — churn-risk band, credit
    grade, purchase-intent heat — and the model segment, read from ml.* (written after the tags layer
    by scoring, absent on a fresh warehouse). Every tag_code is a catalog code; is_current marks
    the current snapshot of each tag source (int_current_snapshots_resolved). -#}

with catalog as (
    select * from {{ ref('tag_catalog') }}
),

rule_tags as (
    select * from {{ ref('customer_rule_tags') }}
),

lifecycle_stages as (
    select * from {{ ref('customer_lifecycle_stages') }}
),

rfm_scores as (
    select * from {{ ref('customer_rfm_scores') }}
),

scores as (
    select * from {{ ref('stg_ml__customer_scores') }}
),

segments as (
    select * from {{ ref('stg_ml__customer_segments') }}
),

current_snapshots as (
    select * from {{ ref('int_current_snapshots_resolved') }}
),

model_tag_codes as (
    -- a model tag's rule is "<task>:<band>"
    select
        tag_code,
        split_part(rule_sql, ':', 1) as task,
        split_part(rule_sql, ':', 2) as band
    from catalog
    where tag_kind = 'model'
),

feature_tags as (
    select
        cid,
        as_of_date,
        tag_code,
        null::text as tag_value,
        'features' as tag_source,
        null::double precision as score,
        null::text as reasons,
        null::text as model
    from rule_tags
    union all
    select
        cid,
        as_of_date,
        tag_code,
        lifecycle_stage as tag_value,
        'features' as tag_source,
        null::double precision as score,
        null::text as reasons,
        null::text as model
    from lifecycle_stages
    where tag_code is not null
    union all
    select
        cid,
        as_of_date,
        rfm_segment_code as tag_code,
        rfm_segment as tag_value,
        'features' as tag_source,
        null::double precision as score,
        null::text as reasons,
        null::text as model
    from rfm_scores
    where rfm_segment_code is not null
    union all
    select
        cid,
        as_of_date,
        value_tier_code as tag_code,
        value_tier as tag_value,
        'features' as tag_source,
        null::double precision as score,
        null::text as reasons,
        null::text as model
    from rfm_scores
    where value_tier_code is not null
),

model_tags as (
    select
        s.cid,
        s.as_of_date,
        m.tag_code,
        s.band as tag_value,
        s.task as tag_source,
        s.score,
        nullif(concat_ws('; ', s.reason_1, s.reason_2, s.reason_3), '') as reasons,
        s.model_name || ' v' || s.model_version || ' @' || s.model_alias as model
    from scores as s
    inner join model_tag_codes as m
        on s.task = m.task and s.band = m.band
),

segment_tags as (
    select
        cid,
        as_of_date,
        'model_segment' as tag_code,
        segment_name as tag_value,
        'segments' as tag_source,
        null::double precision as score,
        null::text as reasons,
        null::text as model
    from segments
),

all_tags as (
    select * from feature_tags
    union all
    select * from model_tags
    union all
    select * from segment_tags
),

final as (
    select
        t.cid::text as cid,
        t.as_of_date::date as as_of_date,
        t.tag_code::text as tag_code,
        t.tag_value::text as tag_value,
        c.tag_group::text as tag_group,
        c.tag_kind::text as tag_kind,
        c.category::text as category,
        c.category_cn::text as category_cn,
        c.name_cn::text as name_cn,
        c.name_en::text as name_en,
        c.raises_warning::text as raises_warning,
        t.tag_source::text as tag_source,
        t.score::double precision as score,
        t.reasons::text as reasons,
        t.model::text as model,
        (cur.as_of_date is not null)::boolean as is_current
    from all_tags as t
    inner join catalog as c on t.tag_code = c.tag_code
    left join current_snapshots as cur
        on t.tag_source = cur.snapshot_source and t.as_of_date = cur.as_of_date
)

select * from final
