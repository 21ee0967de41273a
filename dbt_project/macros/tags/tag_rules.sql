{#- Helpers that turn the tag catalog (tag_catalog()) into SQL. sqlfluff renders them without dbt's
    return(): they then yield '' (no catalog), and models lint in their no-rules form. -#}

{#- Chinese names of the catalog's categories, in display order. -#}
{% macro tag_categories() -%}
    {{ return({
        'basic': '基础属性', 'behaviour': '行为特征', 'cooperation': '合作偏好',
        'technical_demand': '技术诉求', 'value': '价值', 'lifecycle': '生命周期',
        'risk': '风险', 'service': '服务', 'intent': '意向',
    }) if return is defined else '' }}
{%- endmacro %}

{#- Catalog entries of one kind (rule, lifecycle, rfm, value, model, segment), in catalog order. -#}
{% macro tags_of_kind(kind) -%}
    {{ return(tag_catalog() | selectattr('kind', 'equalto', kind) | list) if return is defined else '' }}
{%- endmacro %}

{#- Column names of a model's table in the warehouse (lowercase); empty before it exists and at parse
    time. Looked up through the graph; unit tests (which have no graph) read information_schema by
    table name, so that they see the real table and not their fixture. -#}
{% macro model_columns(model_name) -%}
    {%- set found = [] -%}
    {%- if execute and graph.nodes is defined -%}
        {%- for node in graph.nodes.values() if node.resource_type == 'model' and node.name == model_name -%}
            {%- set rel = adapter.get_relation(node.database, node.schema, node.alias or node.name) -%}
            {%- if rel is not none -%}
                {%- for col in adapter.get_columns_in_relation(rel) -%}
                    {%- do found.append(col.name | lower) -%}
                {%- endfor -%}
            {%- endif -%}
        {%- endfor -%}
    {%- elif execute -%}
        {%- set result = run_query(
            "select distinct column_name::text from information_schema.columns where table_name = '"
            ~ model_name ~ "'"
        ) -%}
        {%- for name in result.columns[0].values() -%}
            {%- do found.append(name | lower) -%}
        {%- endfor -%}
    {%- endif -%}
    {{ return(found) if return is defined else '' }}
{%- endmacro %}

{#- The required columns of a catalog entry that `columns` lacks. -#}
{% macro tag_missing_columns(entry, columns) -%}
    {{ return((entry.requires or []) | reject('in', columns) | list) if return is defined else '' }}
{%- endmacro %}

{#- Entries of a kind that can be evaluated now: not retired, every required column present. -#}
{% macro live_tags(kind, columns) -%}
    {%- set live = [] -%}
    {%- for entry in tags_of_kind(kind) -%}
        {%- if entry.status != 'retired' and tag_missing_columns(entry, columns) | length == 0 -%}
            {%- do live.append(entry) -%}
        {%- endif -%}
    {%- endfor -%}
    {{ return(live) if return is defined else '' }}
{%- endmacro %}

{#- What a set of live entries computes: their codes, versions and rules. Stored on the table, so that
    a new or changed rule re-tags every snapshot date instead of only the new ones. -#}
{% macro tag_fingerprint(entries) -%}
    {%- set parts = [] -%}
    {%- for entry in entries -%}
        {%- do parts.append(entry.code ~ ':' ~ entry.version ~ ':' ~ entry.rule) -%}
    {%- endfor -%}
    {{ return('tag_rules=' ~ local_md5(parts | sort | join(','))) if return is defined else '' }}
{%- endmacro %}

{#- The incremental filter shared by the tags models, after the features' pattern: new snapshot dates,
    plus the requested as_of_date; every date when the table was built by other rules. -#}
{% macro tag_dates_filter(fingerprint, date_column='as_of_date') -%}
    {#- unit tests have no `this`: they always compute every given date -#}
    {%- if execute and this is not none and is_incremental() -%}
        {%- set stored = run_query("select obj_description('" ~ this ~ "'::regclass, 'pg_class')") -%}
        {%- if execute and stored.columns[0].values()[0] == fingerprint %}
    where
        {{ date_column }} > (select coalesce(max(existing.as_of_date), '1900-01-01'::date) from {{ this }} as existing)
            {%- if var('as_of_date') %}
        or {{ date_column }} = '{{ var("as_of_date") }}'::date
            {%- endif %}
        {%- endif -%}
    {%- endif -%}
{%- endmacro %}

{#- A `case` picking the first entry (catalog order) whose rule holds; null when none does. -#}
{% macro tag_first_match(entries) -%}
    case
        {%- for entry in entries %}
        when ({{ entry.rule }}) then '{{ entry.code }}'
        {%- endfor %}
    end
{%- endmacro %}

{#- The catalog as rows (a `values` list, or no row without a catalog), strings quoted for SQL. -#}
{% macro tag_catalog_rows(columns) -%}
    {%- set categories = tag_categories() -%}
    {%- set catalog = tag_catalog() if tag_catalog is defined else [] -%}
    {%- if not catalog %}
    select null, null, null, null, null, null, null, null, null, null, null, null, 0, null, null, 0
    where false
    {%- else %}
    values
    {%- endif -%}
    {%- for entry in catalog %}
    (
        '{{ entry.code }}',
        '{{ entry.name_cn }}',
        '{{ entry.name_en | replace("'", "''") }}',
        '{{ entry.category }}',
        '{{ categories[entry.category] }}',
        '{{ entry.kind }}',
        '{{ entry.tag_group or entry.code }}',
        '{{ entry.rule | trim | replace("'", "''") }}',
        '{{ (entry.requires or []) | join(",") }}',
        '{{ tag_missing_columns(entry, columns) | join(",") if entry.kind in ["rule", "lifecycle"] else "" }}',
        {{ "'" ~ entry.raises ~ "'" if entry.raises else 'null' }},
        '{{ entry.owner }}',
        {{ entry.version }},
        '{{ entry.status }}',
        '{{ entry.description | trim | replace("'", "''") }}',
        {{ loop.index }}
    ){{ "," if not loop.last }}
    {%- endfor %}
{%- endmacro %}
