{#- Reconciliation between layers: for every snapshot date (those the model holds and those
    int_feature_dates_listed asks for), the facts of a staging model that the point-in-time rule
    lets the snapshot see — a version known at the cutoff, its event in the window_days before
    the cutoff, passing facts_filter (columns as f.*) — must equal the model's count_column
    summed over the customers. A fact lost between staging and features (an empty optional
    column, a record no CID covers, a snapshot left stale by a correction) fails the build with
    the date and both counts. -#}
{% test counts_reconcile_with_staging(model, count_column, staging_model, event_column, window_days=365, facts_filter='true') %}
with model_dates as (
    select as_of_date
    from {{ model }}
    group by as_of_date
),

snapshot_dates as (
    select
        as_of_date,
        {{ as_of_cutoff('as_of_date') }} as cutoff_at
    from model_dates
    union
    select
        as_of_date,
        cutoff_at
    from {{ ref('int_feature_dates_listed') }}
),

staged as (
    select
        d.as_of_date,
        count(f.{{ event_column }}) as facts_staged
    from snapshot_dates as d
    left join {{ staging_model }} as f
        on
            f.{{ event_column }} < d.cutoff_at
            and f.{{ event_column }} >= d.cutoff_at - interval '{{ window_days }} days'
            and {{ known_at_instant('d.cutoff_at', 'f') }}
            and ({{ facts_filter }})
    group by d.as_of_date
),

counted as (
    select
        as_of_date,
        sum({{ count_column }}) as facts_counted
    from {{ model }}
    group by as_of_date
),

final as (
    select
        s.as_of_date,
        s.facts_staged,
        coalesce(c.facts_counted, 0) as facts_counted
    from staged as s
    left join counted as c on s.as_of_date = c.as_of_date
    where s.facts_staged <> coalesce(c.facts_counted, 0)
)

select * from final
{% endtest %}
