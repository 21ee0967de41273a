{#- The CID registry as the previous run left it, or an empty relation with its columns on
    the first run. Read directly (not ref) because the registry is built from this run's
    clusters, which in turn keep the previous run's memberships. -#}
{% macro identity_registry_or_empty() -%}
    {%- set rel = adapter.get_relation(target.database, 'identity', 'cid_registry') if execute else none -%}
    {%- if rel is none -%}
        (select null::text as source_system, null::text as source_record_id, null::text as cid, null::timestamptz as cid_assigned_at where false) as empty_registry
    {%- else -%}
        {{ rel }}
    {%- endif -%}
{%- endmacro %}
