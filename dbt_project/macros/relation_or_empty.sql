{#- A relation that may not exist yet on a fresh warehouse (a table written outside dbt, or a
    model's own previous state): read it if it exists, else an empty relation with the given
    columns ({name: data_type}), so downstream SQL compiles and returns nothing. -#}
{% macro existing_or_empty(relation, columns) -%}
    {%- if execute and adapter.get_relation(relation.database, relation.schema, relation.identifier) is none -%}
        (select {% for name, type in columns.items() %}null::{{ type }} as {{ name }}{{ ", " if not loop.last }}{% endfor %} where false) as empty_{{ relation.identifier }}
    {%- else -%}
        {{ relation }}
    {%- endif -%}
{%- endmacro %}

{#- A source written outside dbt (e.g. ml.customer_scores by models_ml); its columns and
    types are the ones declared once in the source YAML. -#}
{% macro relation_or_empty(source_name, table_name) -%}
    {%- set columns = {} -%}
    {%- if execute -%}
        {%- for node in graph.sources.values() if node.source_name == source_name and node.name == table_name -%}
            {%- for name, col in node.columns.items() -%}
                {%- do columns.update({name: col.data_type}) -%}
            {%- endfor -%}
        {%- endfor -%}
    {%- endif -%}
    {{ existing_or_empty(source(source_name, table_name), columns) }}
{%- endmacro %}
