{#- The snapshot dates an incremental feature model computes in this run, with their cutoffs:
    the dates it does not have yet, plus the requested var('as_of_date') (recomputed, it may
    have seen late data). Old dates are never recomputed, so their rows never change. -#}
{% macro feature_dates_to_build() -%}
    select
        as_of_date,
        cutoff_at
    from {{ ref('int_feature_dates_listed') }}
    {%- if is_incremental() %}
    where
        as_of_date > (select coalesce(max(existing.as_of_date), '1900-01-01'::date) from {{ this }} as existing)
        {%- if var('as_of_date') %}
        or as_of_date = '{{ var("as_of_date") }}'::date
        {%- endif %}
    {%- endif %}
{%- endmacro %}
