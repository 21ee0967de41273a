{{
    config(
        materialized='incremental',
        unique_key='as_of_date',
        incremental_strategy='delete+insert',
        post_hook="comment on table {{ this }} is '{{ tag_fingerprint(live_tags('lifecycle', model_columns('customer_features'))) }}'",
    )
}}
{#- The lifecycle stage of every customer on every feature snapshot: the first `kind: lifecycle`
    catalog entry (in catalog order) whose rule holds — churned, acquisition, decline, growth, else
    maturity. Incremental like customer_rule_tags. -#}
-- depends_on: {{ ref('tag_definitions') }}
{%- set stages = live_tags('lifecycle', model_columns('customer_features')) %}

with features as (
    select * from {{ ref('customer_features') }}
    {{- tag_dates_filter(tag_fingerprint(stages)) }}
),

staged as (
    select
        cid,
        as_of_date,
        {{ tag_first_match(stages) if stages else 'null' }}::text as tag_code
    from features
),

final as (
    select
        cid,
        as_of_date,
        tag_code,
        replace(tag_code, 'lifecycle_', '') as lifecycle_stage
    from staged
)

select * from final
