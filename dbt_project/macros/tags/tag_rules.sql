{#- Helpers that turn the tag catalog (tag_catalog(), read from the tag_definitions seed) into
    SQL. sqlfluff renders them without dbt's return(): they then yield '' (no catalog), and
    models lint in their no-rules form. -#}

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

{#- The incremental filter of the tags models: incremental_dates_filter (new snapshot dates, plus
    the requested as_of_date) while the table was built by the same rules; every date otherwise. -#}
{% macro tag_dates_filter(fingerprint, date_column='as_of_date') -%}
    {#- the batch ledger incremental_dates_filter reads: a dependency dbt must see at parse time -#}
    {%- set ledger = ref('stg_loader__batches') -%}
    {#- unit tests have no `this`: they always compute every given date -#}
    {%- if execute and this is not none and is_incremental() -%}
        {%- set stored = run_query("select obj_description('" ~ this ~ "'::regclass, 'pg_class')") -%}
        {%- if execute and stored.columns[0].values()[0] == fingerprint %}
    {{ incremental_dates_filter(date_column) }}
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
