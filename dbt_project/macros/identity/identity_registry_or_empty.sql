{#- The CID registry as the previous run left it, or an empty relation with its columns on
    the first run. Read directly (not ref) because the registry is built from this run's
    clusters, which in turn keep the previous run's memberships. -#}
{% macro identity_registry_or_empty() -%}
    {{ existing_or_empty(
        api.Relation.create(database=target.database, schema='identity', identifier='cid_registry'),
        {'source_system': 'text', 'source_record_id': 'text', 'cid': 'text', 'cid_assigned_at': 'timestamptz'}
    ) }}
{%- endmacro %}
