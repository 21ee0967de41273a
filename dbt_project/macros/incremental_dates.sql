{#- The one incremental rule for snapshot tables (features, tags): a run computes the snapshot
    dates the table does not have yet, plus the requested var('as_of_date') (recomputed, it may
    have seen late data). Old dates are never recomputed, so their rows never change. Returns the
    `where` clause; the caller decides whether the run is incremental. -#}
{% macro incremental_dates_filter(date_column='as_of_date') -%}
    where
        {{ date_column }} > (select coalesce(max(existing.as_of_date), '1900-01-01'::date) from {{ this }} as existing)
        {%- if var('as_of_date') %}
        or {{ date_column }} = '{{ var("as_of_date") }}'::date
        {%- endif %}
{%- endmacro %}

{#- The snapshot dates an incremental feature model computes in this run, with their cutoffs
    (incremental_dates_filter: the dates it does not have yet, plus var('as_of_date')). -#}
{% macro feature_dates_to_build() -%}
    select
        as_of_date,
        cutoff_at
    from {{ ref('int_feature_dates_listed') }}
    {%- if is_incremental() %}
    {{ incremental_dates_filter() }}
    {%- endif %}
{%- endmacro %}
