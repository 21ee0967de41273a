{#- The instant that closes as_of_date: midnight after it in the business time zone.
    Point in time: a feature at as_of_date uses events strictly before this instant that
    were also extracted (known) no later than it. -#}
{% macro as_of_cutoff(as_of_date_column) -%}
    (({{ as_of_date_column }} + 1)::timestamp at time zone '{{ var("business_timezone") }}')
{%- endmacro %}
