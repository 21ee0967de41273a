{#- The one incremental rule for snapshot tables (features, tags): a run computes the snapshot
    dates the table does not have yet, the requested var('as_of_date') (recomputed, it may have
    seen late data), and every date a batch loaded since the table was last built can change:
    a batch re-delivered under its id with corrections (changed, added or removed rows) rewrites
    what was known from its known_at on, so every snapshot whose cutoff is at or after it is
    recomputed. Other old dates are never recomputed, so their rows never change. Returns the
    `where` clause; the caller decides whether the run is incremental. -#}
{% macro incremental_dates_filter(date_column='as_of_date') -%}
    where
        {{ date_column }} > (select coalesce(max(existing.as_of_date), '1900-01-01'::date) from {{ this }} as existing)
        {%- if var('as_of_date') %}
        or {{ date_column }} = '{{ var("as_of_date") }}'::date
        {%- endif %}
        {#- the cutoff of as_of_cutoff(), written out: sqlfluff's templater cannot call a macro
            of another file from a macro #}
        or (({{ date_column }} + 1)::timestamp at time zone '{{ var("business_timezone") }}') >= (
            select min(batches.known_at)
            from {{ ref('stg_loader__batches') }} as batches
            where batches.loaded_at > {{ loads_watermark() }}
        )
{%- endmacro %}

{#- The snapshot dates an incremental feature model computes in this run, with their cutoffs
    (incremental_dates_filter: the dates it does not have yet, var('as_of_date'), and the dates
    corrections touched). -#}
{% macro feature_dates_to_build() -%}
    {#- the batch ledger incremental_dates_filter reads, named outside any is_incremental()
        branch so that dbt sees the dependency at parse time #}
    {%- set ledger = ref('stg_loader__batches') %}
    select
        as_of_date,
        cutoff_at
    from {{ ref('int_feature_dates_listed') }}
    {#- unit tests have no `this`: they compute every given date #}
    {%- if this is not none and is_incremental() %}
    {{ incremental_dates_filter() }}
    {%- endif %}
{%- endmacro %}

{#- The batches a snapshot table was built from: the latest load time it has seen, kept as the
    comment of its as_of_date column (record_loads_watermark). A table without one (built
    before watermarks existed) has seen nothing, so every loaded batch counts as new once. -#}
{% macro loads_watermark() -%}
    {%- set found = none -%}
    {%- if execute and this is not none -%}
        {%- set stored = run_query(
            "select col_description(c.oid, a.attnum) from pg_class as c"
            ~ " join pg_namespace as n on n.oid = c.relnamespace"
            ~ " join pg_attribute as a on a.attrelid = c.oid"
            ~ " where n.nspname = '" ~ this.schema ~ "' and c.relname = '" ~ this.identifier ~ "'"
            ~ " and a.attname = 'as_of_date'"
        ) -%}
        {%- set comment = stored.columns[0].values()[0] if stored.rows | length else none -%}
        {%- if comment and comment.startswith('loads_until=') and comment[12:] -%}
            {%- set found = comment[12:] -%}
        {%- endif -%}
    {%- endif -%}
    {{- ("'" ~ found ~ "'::timestamptz") if found else "'-infinity'::timestamptz" -}}
{%- endmacro %}

{#- Post-hook of the snapshot tables: remember the latest batch load this build has seen (see
    loads_watermark). Loads and builds run one after another (the DAGs do): a batch committed
    while a model builds may be counted as seen without having been read. -#}
{% macro record_loads_watermark() -%}
    {%- if execute and config.get('materialized') == 'incremental' -%}
        {%- set latest = run_query(
            "select coalesce(max(loaded_at)::text, '') from " ~ ref('stg_loader__batches')
        ).columns[0].values()[0] -%}
        comment on column {{ adapter.quote(this.schema) }}.{{ adapter.quote(this.identifier) }}.as_of_date
            is 'loads_until={{ latest }}'
    {%- endif -%}
{%- endmacro %}
