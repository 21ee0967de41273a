{#- Identity resolution settings of one entity (company or person) as one dictionary
    (docs/identity.md explains every key):
    - the company's run settings are the identity_* vars of dbt_project.yml (mode, thresholds,
      blocking, chain guard, deterministic rules) and its comparisons and blocking keys are
      identity_entities.company; another entity (person) takes the company's run settings
      and replaces what its identity_entities.<entity> declares;
    - per run, `--vars '{identity: {...}}'` (company) or `--vars '{identity_person: {...}}'`
      overrides any of it, merged key by key with the defaults (identity_merge): a comparison
      or level can be changed alone, a comparison set to null is switched off, a new comparison
      can be added; a key the defaults do not have fails the run and names it.
    The legacy spelling `--vars '{identity_match_threshold: 7}'` keeps working. -#}
{% macro identity_config(entity='company') -%}
{%- set config = {
    "mode": var("identity_mode", "dedupe"),
    "keep_previous_clusters": var("identity_keep_previous_clusters", false),
    "deterministic_rules": var("identity_deterministic_rules"),
    "blocking": var("identity_blocking"),
    "match_threshold": var("identity_match_threshold") | float,
    "review_band": var("identity_review_band") | float,
    "chain_guard": var("identity_chain_guard"),
    "hub_identifiers": var("identity_hub_identifiers")
} -%}
{%- set entities = var("identity_entities") -%}
{%- if entity not in entities -%}
    {%- do exceptions.raise_compiler_error(
        "identity: no entity '" ~ entity ~ "' in the identity_entities var (known: "
        ~ (entities.keys() | list | join(', ')) ~ ")"
    ) -%}
{%- endif -%}
{%- do config.update(entities[entity]) -%}
{%- set var_name = 'identity' if entity == 'company' else 'identity_' ~ entity -%}
{%- set overrides = var(var_name, {}) -%}
{%- if overrides is not mapping -%}
    {%- do exceptions.raise_compiler_error(
        "identity: --vars " ~ var_name ~ " must be a mapping of settings, got " ~ overrides
    ) -%}
{%- endif -%}
{%- set merged = identity_merge(config, overrides, var_name) -%}
{%- do identity_check_config(merged, var_name) -%}
{{- return(merged) -}}
{%- endmacro %}

{#- defaults merged with overrides, key by key (mappings recursively). A key the defaults lack
    fails with its path, except a new comparison (or a new level of one); a null override
    removes the key (switches a comparison off). -#}
{% macro identity_merge(defaults, overrides, path) -%}
{%- set merged = {} -%}
{%- do merged.update(defaults) -%}
{%- for key, value in overrides.items() -%}
    {%- set here = path ~ '.' ~ key -%}
    {%- set parts = path.split('.') -%}
    {%- set open = parts[-1] in ['comparisons', 'levels', 'blocking_keys']
        or (parts | length > 1 and parts[-2] == 'comparisons' and key in ['tf_adjust', 'description'])
        or (parts | length > 1 and parts[-2] == 'levels') -%}
    {%- if key not in defaults and not open -%}
        {%- do exceptions.raise_compiler_error(
            "identity: unknown setting '" ~ here ~ "' (known there: "
            ~ (defaults.keys() | list | sort | join(', ')) ~ "); see docs/identity.md"
        ) -%}
    {%- endif -%}
    {%- if value is none -%}
        {%- do merged.pop(key, none) -%}
    {%- elif value is mapping and defaults.get(key) is mapping -%}
        {%- do merged.update({key: identity_merge(defaults[key], value, here)}) -%}
    {%- else -%}
        {%- do merged.update({key: value}) -%}
    {%- endif -%}
{%- endfor -%}
{{- return(merged) -}}
{%- endmacro %}

{#- Fails the run, naming the setting, when a merged configuration cannot be compiled:
    unknown mode, a comparison without a known function or with levels its function does not
    have, a level without m and u. -#}
{% macro identity_check_config(config, path) -%}
{%- set modes = ['dedupe', 'link_only', 'one_to_one'] -%}
{%- if config.mode not in modes -%}
    {%- do exceptions.raise_compiler_error(
        "identity: " ~ path ~ ".mode is '" ~ config.mode ~ "'; one of " ~ modes | join(', ')
    ) -%}
{%- endif -%}
{%- set functions = identity_comparison_functions() -%}
{%- for name, cmp in config.comparisons.items() -%}
    {%- set here = path ~ '.comparisons.' ~ name -%}
    {%- if cmp is not mapping -%}
        {%- do exceptions.raise_compiler_error("identity: " ~ here ~ " must be a mapping (function, columns, levels)") -%}
    {%- endif -%}
    {%- for key in cmp -%}
        {%- if key not in ['function', 'columns', 'levels', 'tf_adjust', 'description'] -%}
            {%- do exceptions.raise_compiler_error(
                "identity: unknown setting '" ~ here ~ "." ~ key
                ~ "' (known there: columns, description, function, levels, tf_adjust)"
            ) -%}
        {%- endif -%}
    {%- endfor -%}
    {%- if cmp.get('function') not in functions -%}
        {%- do exceptions.raise_compiler_error(
            "identity: " ~ here ~ ".function is '" ~ cmp.get('function') ~ "'; one of "
            ~ (functions.keys() | list | sort | join(', '))
        ) -%}
    {%- endif -%}
    {%- set fn = functions[cmp.function] -%}
    {%- set tf = cmp.get('tf_adjust', false) -%}
    {%- if not (tf is sameas true or tf is sameas false or (tf is mapping and tf.keys() | list == ['distinct'])) -%}
        {%- do exceptions.raise_compiler_error(
            "identity: " ~ here ~ ".tf_adjust must be true, false, {distinct: <column>} or {distinct: [<column>, ...]} (got " ~ tf ~ ")"
        ) -%}
    {%- endif -%}
    {%- if not cmp.get('columns') or (cmp.columns | length) != fn.columns -%}
        {%- do exceptions.raise_compiler_error(
            "identity: " ~ here ~ ".columns must list " ~ fn.columns ~ " column(s) for function "
            ~ cmp.function ~ " (" ~ fn.describe ~ ")"
        ) -%}
    {%- endif -%}
    {%- if not cmp.get('levels') or cmp.levels is not mapping -%}
        {%- do exceptions.raise_compiler_error("identity: " ~ here ~ ".levels must map level names to {m, u" ~ (", min_similarity" if fn.threshold else "") ~ "}") -%}
    {%- endif -%}
    {%- for level, spec in cmp.levels.items() -%}
        {%- set at = here ~ '.levels.' ~ level -%}
        {%- if fn.levels and level not in fn.levels -%}
            {%- do exceptions.raise_compiler_error(
                "identity: unknown level '" ~ at ~ "' for function " ~ cmp.function ~ " (its levels: "
                ~ fn.levels | join(', ') ~ ")"
            ) -%}
        {%- endif -%}
        {%- if spec is not mapping or 'm' not in spec or 'u' not in spec -%}
            {%- do exceptions.raise_compiler_error("identity: " ~ at ~ " needs m and u") -%}
        {%- endif -%}
        {%- for key in spec -%}
            {%- if key not in ['m', 'u', fn.threshold] -%}
                {%- do exceptions.raise_compiler_error(
                    "identity: unknown setting '" ~ at ~ "." ~ key ~ "' (known there: m, u"
                    ~ (", " ~ fn.threshold if fn.threshold else "") ~ ")"
                ) -%}
            {%- endif -%}
        {%- endfor -%}
        {%- if fn.threshold and spec.get(fn.threshold) is none -%}
            {%- do exceptions.raise_compiler_error("identity: " ~ at ~ " needs " ~ fn.threshold) -%}
        {%- endif -%}
        {%- for key in ['m', 'u'] if spec[key] != 'estimate' -%}
            {%- if not (spec[key] | float > 0 and spec[key] | float <= 1) -%}
                {%- do exceptions.raise_compiler_error(
                    "identity: " ~ at ~ "." ~ key ~ " is " ~ spec[key] ~ ": a probability in (0, 1], or 'estimate'"
                ) -%}
            {%- endif -%}
        {%- endfor -%}
    {%- endfor -%}
{%- endfor -%}
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

{#- A short fingerprint of an entity's settings (recorded with every merge and split, so a
    change of meaning can be traced to the configuration that caused it). -#}
{% macro identity_config_fingerprint(entity='company') -%}
    {{- return(local_md5(tojson(identity_config(entity), sort_keys=true))[:12]) -}}
{%- endmacro %}
