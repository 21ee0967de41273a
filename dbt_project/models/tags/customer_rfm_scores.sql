{{
    config(
        materialized='incremental',
        unique_key='as_of_date',
        incremental_strategy='delete+insert',
        post_hook="comment on table {{ this }} is '{{ tag_fingerprint(tags_of_kind('rfm') + tags_of_kind('value')) }}'",
    )
}}
{#- RFM per feature snapshot: recency, frequency and monetary scores 1–5 (quintiles among the
    customers known on that date, 5 = best; ties share a score), the RFM segment and the value tier,
    both the first matching catalog entry of their kind. Incremental like customer_rule_tags. -#}
-- depends_on: {{ ref('tag_definitions') }}
{%- set segments = tags_of_kind('rfm') %}
{%- set tiers = tags_of_kind('value') %}

with features as (
    select * from {{ ref('customer_features') }}
    {{- tag_dates_filter(tag_fingerprint(segments + tiers)) }}
),

ranked as (
    select
        *,
        count(*) over (partition by as_of_date) as customers_on_date,
        rank() over (
            partition by as_of_date order by days_since_last_order desc nulls first
        ) as recency_rank,
        rank() over (partition by as_of_date order by orders_365d asc) as frequency_rank,
        rank() over (partition by as_of_date order by revenue_cny_365d asc) as monetary_rank,
        percent_rank() over (
            partition by as_of_date, revenue_cny_365d > 0 order by revenue_cny_365d asc
        ) as revenue_percentile
    from features
),

scored as (
    select
        *,
        (1 + floor(5.0 * (recency_rank - 1) / customers_on_date))::integer as recency_score,
        (1 + floor(5.0 * (frequency_rank - 1) / customers_on_date))::integer as frequency_score,
        (1 + floor(5.0 * (monetary_rank - 1) / customers_on_date))::integer as monetary_score
    from ranked
),

segmented as (
    select
        *,
        {{ tag_first_match(segments) if segments else 'null' }}::text as rfm_segment_code,
        {{ tag_first_match(tiers) if tiers else 'null' }}::text as value_tier_code
    from scored
),

final as (
    select
        cid,
        as_of_date,
        recency_score,
        frequency_score,
        monetary_score,
        recency_score::text || frequency_score::text || monetary_score::text as rfm_cell,
        round(revenue_percentile::numeric, 4) as revenue_percentile,
        rfm_segment_code,
        replace(rfm_segment_code, 'rfm_', '') as rfm_segment,
        value_tier_code,
        replace(value_tier_code, 'value_tier_', '') as value_tier
    from segmented
)

select * from final
