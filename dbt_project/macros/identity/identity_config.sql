{#- Identity resolution settings: the identity_* vars of dbt_project.yml (thresholds, blocking,
    deterministic rules; docs/identity.md explains each), as one dictionary. Any top-level key
    can be overridden per run: `dbt build --vars '{identity: {match_threshold: 7}}'`. Word
    lists and Fellegi-Sunter match levels are seeds (identity_company_name_words,
    identity_free_mail_domains, identity_match_levels), read by identity_seed_rows. -#}
{% macro identity_config() -%}
{%- set config = {
    "deterministic_rules": var("identity_deterministic_rules"),
    "blocking": var("identity_blocking"),
    "match_threshold": var("identity_match_threshold") | float,
    "review_band": var("identity_review_band") | float,
    "chain_guard": var("identity_chain_guard")
} -%}
{%- set overrides = var('identity', {}) -%}
{%- if overrides is mapping -%}{%- do config.update(overrides) -%}{%- endif -%}
{{- return(config) -}}
{%- endmacro %}

{#- The rows of an identity seed in order_by order, read at compile time (none while parsing).
    The ref taken while parsing makes every model that calls this depend on the seed, so
    `dbt build` loads the seed first. Unit tests compile against their given inputs only, so
    they read the seed's table itself (built before them) instead of a fixture. -#}
{% macro identity_seed_rows(seed_name, order_by) -%}
    {%- if not execute -%}
        {%- do ref(seed_name) -%}
        {{- return([]) -}}
    {%- endif -%}
    {%- if model.resource_type == 'unit_test' -%}
        {%- set relation = api.Relation.create(database=target.database, schema='identity', identifier=seed_name) -%}
    {%- else -%}
        {%- set relation = ref(seed_name) -%}
    {%- endif -%}
    {%- if adapter.get_relation(relation.database, relation.schema, relation.identifier) is none -%}
        {%- if flags.WHICH == 'generate' -%}
            {{- return([]) -}}
        {%- endif -%}
        {%- do exceptions.raise_compiler_error(
            "Seed " ~ seed_name ~ " is not loaded: run `dbt seed` (or `dbt build`) first."
        ) -%}
    {%- endif -%}
    {{- return(run_query("select * from " ~ relation ~ " order by " ~ order_by).rows) -}}
{%- endmacro %}

{#- The instant of this dbt run (CID assignment and event times; not now() in logic). -#}
{% macro identity_run_at() -%}
    '{{ run_started_at if run_started_at is defined else "1970-01-01 00:00:00+00:00" }}'::timestamptz
{%- endmacro %}
