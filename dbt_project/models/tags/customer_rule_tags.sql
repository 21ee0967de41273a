{{
    config(
        materialized='incremental',
        unique_key='as_of_date',
        incremental_strategy='delete+insert',
        post_hook="comment on table {{ this }} is '{{ tag_fingerprint(live_tags('rule', model_columns('customer_features'))) }}'",
    )
}}
{#- Rule tags, one row per (cid, as_of_date, tag_code) for every feature snapshot: generated from
    the catalog's `kind: rule` entries whose required feature columns exist. Incremental like the
    features (new dates, the requested as_of_date, the dates a corrected batch touched); a new or changed rule re-tags every date. -#}
-- depends_on: {{ ref('tag_definitions') }}
{%- set rules = live_tags('rule', model_columns('customer_features')) %}

with features as (
    select * from {{ ref('customer_features') }}
    {{- tag_dates_filter(tag_fingerprint(rules)) }}
),

tagged as (
    -- each live rule's rows; the typed empty set keeps the columns when no rule is live
    {%- for rule in rules %}
    select
        cid,
        as_of_date,
        '{{ rule.code }}'::text as tag_code
    from features
    where ({{ rule.rule }})
    union all
    {%- endfor %}
    select
        null::text as cid,
        null::date as as_of_date,
        null::text as tag_code
    from features
    where false
),

final as (
    select
        cid,
        as_of_date,
        tag_code
    from tagged
)

select * from final
