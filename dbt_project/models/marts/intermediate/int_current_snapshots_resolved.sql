{#- The snapshot every mart treats as current, one row per snapshot source: the features
    ('features'), each scored task of ml.customer_scores, and the segmentation ('segments'). Each
    source's current date is its latest on or before the run's var('as_of_date'); without the
    var, its latest. Re-running an old day therefore rebuilds that day's marts. -#}

with features as (
    select * from {{ ref('customer_features') }}
),

scores as (
    select * from {{ ref('stg_ml__customer_scores') }}
),

segments as (
    select * from {{ ref('stg_ml__customer_segments') }}
),

source_dates as (
    select distinct
        'features' as snapshot_source,
        as_of_date
    from features
    union all
    select distinct
        task as snapshot_source,
        as_of_date
    from scores
    union all
    select distinct
        'segments' as snapshot_source,
        as_of_date
    from segments
),

final as (
    select
        snapshot_source::text as snapshot_source,
        max(as_of_date)::date as as_of_date
    from source_dates
    where
        {%- if var('as_of_date') %}
            as_of_date <= '{{ var("as_of_date") }}'::date
        {%- else %}
            true
        {%- endif %}
    group by snapshot_source
)

select * from final
