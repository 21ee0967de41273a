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
