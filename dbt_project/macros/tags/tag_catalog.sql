{#- The tag catalog, read from the tag_definitions seed (seeds/tag_definitions.csv) when the
    models are compiled: a list of entries (code, kind, tag_group, rule, requires as a list,
    raises, version, status) in catalog order. Empty at parse time and before the seed is
    loaded; a model calling it declares `-- depends_on: {{ ref('tag_definitions') }}` so that
    dbt loads the seed first. docs/tags.md describes the fields. -#}
{% macro tag_catalog() -%}
    {%- set entries = [] -%}
    {%- set relation = warehouse_relation('tag_definitions') if execute else none -%}
    {%- if relation is not none -%}
        {%- set result = run_query(
            "select code, kind, tag_group, rule, requires, raises, version::text as version, status from "
            ~ relation ~ " order by catalog_order"
        ) -%}
        {%- for row in result.rows -%}
            {%- do entries.append({
                'code': row['code'],
                'kind': row['kind'],
                'tag_group': row['tag_group'],
                'rule': row['rule'],
                'requires': (row['requires'] or '').split(',') | reject('equalto', '') | list,
                'raises': row['raises'],
                'version': row['version'],
                'status': row['status'],
            }) -%}
        {%- endfor -%}
    {%- endif -%}
    {{ return(entries) if return is defined else '' }}
{%- endmacro %}

{#- The warehouse relation of a model or seed, by name; none when it is not built yet. Looked up
    through the graph; unit tests (which have no graph) find it in information_schema by name. -#}
{% macro warehouse_relation(node_name) -%}
    {%- set found = [] -%}
    {%- if execute and graph.nodes is defined -%}
        {%- for node in graph.nodes.values() if node.resource_type in ['model', 'seed'] and node.name == node_name -%}
            {%- set rel = adapter.get_relation(node.database, node.schema, node.alias or node.name) -%}
            {%- if rel is not none -%}
                {%- do found.append(rel) -%}
            {%- endif -%}
        {%- endfor -%}
    {%- elif execute -%}
        {%- set result = run_query(
            "select table_schema::text from information_schema.tables where table_name = '"
            ~ node_name ~ "' order by 1 limit 1"
        ) -%}
        {%- for schema in result.columns[0].values() -%}
            {%- do found.append(adapter.get_relation(target.database, schema, node_name)) -%}
        {%- endfor -%}
    {%- endif -%}
    {{ return(found[0] if found else none) if return is defined else '' }}
{%- endmacro %}
