{{ config(materialized='table', schema='marts') }}
{#- One row per day: the time spine MetricFlow joins metrics to (dbt semantic layer). -#}

with days as (
    select generate_series('2015-01-01'::date, '2040-12-31'::date, interval '1 day')::date as date_day
),

final as (
    select date_day
    from days
)

select * from final
