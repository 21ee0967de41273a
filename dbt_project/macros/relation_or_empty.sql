{#- A source written outside dbt (e.g. ml.customer_scores by models_ml) may not exist yet on
    a fresh warehouse; then read an empty relation with the same columns instead of failing. -#}
{% macro relation_or_empty(source_name, table_name, columns) -%}
    {%- set rel = source(source_name, table_name) -%}
    {%- if execute and adapter.get_relation(rel.database, rel.schema, rel.identifier) is none -%}
        (select {% for name, type in columns.items() %}null::{{ type }} as {{ name }}{{ ", " if not loop.last }}{% endfor %} where false) as empty_{{ table_name }}
    {%- else -%}
        {{ rel }}
    {%- endif -%}
{%- endmacro %}
