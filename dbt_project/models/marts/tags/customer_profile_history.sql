{{ config(post_hook="create index on {{ this }} (cid, tag_code)") }}
{#- Each customer's tags over time: one row per unbroken run of snapshots on which a tag held, with
    since (first snapshot), last seen, until (the first snapshot of its source without it; null while
    it still holds) and the tag of the same group that held before (e.g. the previous lifecycle
    stage). Answers "since when is this customer at risk, and what was it before". -#}

with customer_tags as (
    select * from {{ ref('mart_customer_tags') }}
),

source_dates as (
    -- the snapshot dates of each tag source (features, each scored task, segments), numbered
    select
        tag_source,
        as_of_date,
        dense_rank() over (partition by tag_source order by as_of_date) as date_index
    from (select distinct
        tag_source,
        as_of_date
    from customer_tags) as dates
),

numbered as (
    select
        t.*,
        d.date_index,
        d.date_index - row_number() over (
            partition by t.cid, t.tag_code, t.tag_value order by t.as_of_date
        ) as run_key
    from customer_tags as t
    inner join source_dates as d
        on t.tag_source = d.tag_source and t.as_of_date = d.as_of_date
),

runs as (
    select
        cid,
        tag_code,
        tag_value,
        tag_group,
        category,
        name_cn,
        name_en,
        tag_source,
        min(as_of_date) as since_date,
        max(as_of_date) as last_seen_date,
        max(date_index) as last_date_index,
        count(*) as snapshots
    from numbered
    group by cid, tag_code, tag_value, tag_group, category, name_cn, name_en, tag_source, run_key
),

final as (
    select
        r.cid::text as cid,
        r.tag_code::text as tag_code,
        r.tag_value::text as tag_value,
        r.tag_group::text as tag_group,
        r.category::text as category,
        r.name_cn::text as name_cn,
        r.name_en::text as name_en,
        r.tag_source::text as tag_source,
        r.since_date::date as since_date,
        r.last_seen_date::date as last_seen_date,
        nxt.as_of_date::date as until_date,
        r.snapshots::integer as snapshots,
        (nxt.as_of_date is null)::boolean as is_current,
        (lag(r.tag_code) over by_group)::text as previous_tag_code,
        (lag(r.tag_value) over by_group)::text as previous_tag_value,
        (lag(r.since_date) over by_group)::date as previous_since_date
    from runs as r
    left join source_dates as nxt
        on r.tag_source = nxt.tag_source and r.last_date_index + 1 = nxt.date_index
    window by_group as (partition by r.cid, r.tag_group order by r.since_date, r.tag_code)
)

select * from final
