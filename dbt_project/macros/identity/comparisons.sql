{#- Comparisons declared as data (identity_entities in dbt_project.yml, docs/identity.md): the
    comparison functions an entity's config can name, the SQL of a comparison's level and
    weight, and the generator of an entity's scored candidate pairs (identity_pairs_scored).
    Fellegi-Sunter: a pair's match weight is the sum over comparisons of log2(m / u) of its
    level; a missing value (null level) adds 0. -#}

{#- The comparison functions: how many columns each compares (a. and b. of a pair), its fixed
    level names (none: any names, ordered by the threshold) and its threshold key. -#}
{% macro identity_comparison_functions() -%}
{{- return({
    "exact": {"columns": 1, "levels": ["same", "different"], "threshold": none,
              "describe": "same / different value"},
    "similarity": {"columns": 1, "levels": none, "threshold": "min_similarity",
                   "describe": "pg_trgm similarity; the first level (highest min_similarity first) it reaches"},
    "edit_distance": {"columns": 1, "levels": none, "threshold": "max_distance",
                      "describe": "Levenshtein distance; the first level (lowest max_distance first) within it"},
    "address_similarity": {"columns": 2, "levels": none, "threshold": "min_similarity",
                           "describe": "address, its numbers (space-separated): pg_trgm similarity; 0 when both carry numbers and neither's contain the other's"},
    "name_similarity": {"columns": 3, "levels": none, "threshold": "min_similarity",
                        "describe": "name, script, second name: trigram similarity within one script (Latin names also against the second name)"},
    "email": {"columns": 2, "levels": ["same_address", "same_company_domain", "different"], "threshold": none,
              "describe": "address, company domain: same address / same company domain / different"}
}) -}}
{%- endmacro %}

{#- A comparison's levels as a list of {name, m, u, threshold} in the order they are tried. -#}
{% macro identity_levels(cmp) -%}
    {%- set fn = identity_comparison_functions()[cmp.function] -%}
    {%- set levels = [] -%}
    {%- for name, spec in cmp.levels.items() -%}
        {%- do levels.append({'name': name, 'm': spec.m, 'u': spec.u,
                              'threshold': spec.get(fn.threshold) if fn.threshold else none}) -%}
    {%- endfor -%}
    {%- if fn.threshold == 'min_similarity' -%}
        {{- return(levels | sort(attribute='threshold', reverse=true)) -}}
    {%- elif fn.threshold == 'max_distance' -%}
        {{- return(levels | sort(attribute='threshold')) -}}
    {%- endif -%}
    {{- return(levels) -}}
{%- endmacro %}

{#- The similarity (or distance) a threshold function measures between a. and b.; null when
    either side is missing. -#}
{% macro identity_comparison_measure(cmp) -%}
    {%- set c = cmp.columns -%}
    {%- if cmp.function == 'similarity' -%}
        similarity(a.{{ c[0] }}, b.{{ c[0] }})
    {%- elif cmp.function == 'address_similarity' -%}
        {#- Hauptstr. 7 and Hauptstr. 12 (园区路1号, 园区路3号) are neighbours, not one address;
            Hauptstr. 7 and Hauptstr. 7, 70173 Stuttgart (or a street without a number) may be. -#}
        case
            when a.{{ c[1] }} is null or b.{{ c[1] }} is null
                or string_to_array(a.{{ c[1] }}, ' ') <@ string_to_array(b.{{ c[1] }}, ' ')
                or string_to_array(b.{{ c[1] }}, ' ') <@ string_to_array(a.{{ c[1] }}, ' ')
                then similarity(a.{{ c[0] }}, b.{{ c[0] }})
            when a.{{ c[0] }} is not null and b.{{ c[0] }} is not null then 0.0
        end
    {%- elif cmp.function == 'edit_distance' -%}
        levenshtein(a.{{ c[0] }}, b.{{ c[0] }})
    {%- elif cmp.function == 'name_similarity' -%}
        greatest(
            case when a.{{ c[1] }} = b.{{ c[1] }} then similarity(a.{{ c[0] }}, b.{{ c[0] }}) end,
            case when b.{{ c[2] }} is not null and a.{{ c[1] }} = 'latin' then similarity(a.{{ c[0] }}, b.{{ c[2] }}) end,
            case when a.{{ c[2] }} is not null and b.{{ c[1] }} = 'latin' then similarity(a.{{ c[2] }}, b.{{ c[0] }}) end,
            similarity(a.{{ c[2] }}, b.{{ c[2] }})
        )
    {%- endif -%}
{%- endmacro %}

{#- The level name of a pair in one comparison (null: no evidence). `measure` is the column
    holding identity_comparison_measure for threshold functions. -#}
{% macro identity_level_sql(cmp, measure=none) -%}
    {%- set c = cmp.columns -%}
    {%- set fn = identity_comparison_functions()[cmp.function] -%}
    {%- if cmp.function == 'exact' -%}
        case when a.{{ c[0] }} is not null and b.{{ c[0] }} is not null
            then case when a.{{ c[0] }} = b.{{ c[0] }} then 'same' else 'different' end
        end
    {%- elif cmp.function == 'email' -%}
        case
            when a.{{ c[0] }} is null or b.{{ c[0] }} is null then null
            when a.{{ c[0] }} = b.{{ c[0] }} then 'same_address'
            when a.{{ c[1] }} = b.{{ c[1] }} then 'same_company_domain'
            else 'different'
        end
    {%- else -%}
        case
            {%- for level in identity_levels(cmp) %}
            when {{ measure }} {{ '>=' if fn.threshold == 'min_similarity' else '<=' }} {{ level.threshold }} then '{{ level.name }}'
            {%- endfor %}
        end
    {%- endif -%}
{%- endmacro %}

{#- The weight of a level column: log2(m / u) of its level, 0 when null. With tf_adjust, u of the
    first (agreeing) level is at least the share of entities carrying the pair's common value of
    the comparison's first column (tf_column): a value many entities share is weak evidence
    (Splink's term-frequency adjustment). -#}
{% macro identity_level_weight_sql(cmp, level_column, tf_column=none, name=none) -%}
    case {{ level_column }}
        {%- for level in identity_levels(cmp) %}
        {%- set m = identity_parameter_sql(name, level, 'm') %}
        {%- set u = identity_parameter_sql(name, level, 'u') %}
        {%- if tf_column is not none and loop.first %}
        when '{{ level.name }}' then log(2.0, {{ m }} / greatest({{ u }}, coalesce({{ tf_column }}, 0)::numeric))
        {%- else %}
        when '{{ level.name }}' then log(2.0, {{ m }} / {{ u }})
        {%- endif %}
        {%- endfor %}
        else 0
    end
{%- endmacro %}

{#- m or u of a level: the declared number, or for 'estimate' the estimated_parameters row. -#}
{% macro identity_parameter_sql(name, level, parameter) -%}
    {%- if level[parameter] == 'estimate' -%}
        (select e.{{ parameter }} from estimated_parameters as e
         where e.comparison = '{{ name }}' and e.level = '{{ level.name }}')
    {%- else -%}
        {{ level[parameter] }}::numeric
    {%- endif -%}
{%- endmacro %}

{#- True when some level of some comparison of cfg has m or u 'estimate'. -#}
{% macro identity_estimates_any(cfg) -%}
    {%- for name, cmp in cfg.comparisons.items() -%}
        {%- for level, spec in cmp.levels.items() if spec.m == 'estimate' or spec.u == 'estimate' -%}
            {{- return(true) -}}
        {%- endfor -%}
    {%- endfor -%}
    {{- return(false) -}}
{%- endmacro %}

{#- CTEs estimating the m and u of every level from the data (levels declared 'estimate'):
    u = share of random profile pairs of different entities at the level (Splink's
    estimate_u_using_random_sampling: random pairs are almost all non-matches); m = share of
    pairs of profiles inside one deterministic entity (records the deterministic rules already
    joined are matches) at the level. Both with add-one smoothing over the levels; a pair where
    the comparison has no value does not count. The within-entity pairs favour the evidence
    the deterministic rules used (e-mail, mobile): prefer declared m for those. -#}
{% macro identity_estimate_ctes(cfg) -%}
{%- set functions = identity_comparison_functions() -%}
sampled_profiles as (
    select
        p.*,
        row_number() over (order by md5(p.record_num::text)) as sample_num,
        count(*) over () as sample_size
    from profiles as p
),

parameter_pairs as (
    select
        'u' as parameter,
        a.record_num as record_num_a,
        b.record_num as record_num_b
    from sampled_profiles as a
    cross join generate_series(1, 20) as step (offset_num)
    inner join sampled_profiles as b
        on b.sample_num = (a.sample_num + step.offset_num - 1) % a.sample_size + 1
    where a.entity_num <> b.entity_num

    union all

    select
        'm' as parameter,
        a.record_num as record_num_a,
        b.record_num as record_num_b
    from profiles as a
    inner join profiles as b on a.entity_num = b.entity_num and a.record_num < b.record_num
),

parameter_levels as (
    select
        x.parameter
        {%- for name, cmp in cfg.comparisons.items() %}
        {%- set fn = functions[cmp.function] %},
        {%- if fn.threshold %}
        {{ identity_level_sql(cmp, identity_comparison_measure(cmp)) }} as {{ name }}_level
        {%- else %}
        {{ identity_level_sql(cmp) }} as {{ name }}_level
        {%- endif %}
        {%- endfor %}
    from parameter_pairs as x
    inner join profiles as a on x.record_num_a = a.record_num
    inner join profiles as b on x.record_num_b = b.record_num
),

estimated_parameters as (
    {%- set parts = [] %}
    {%- for name, cmp in cfg.comparisons.items() %}
    {%- set names = [] %}
    {%- for level in identity_levels(cmp) %}{% do names.append("('" ~ level.name ~ "')") %}{% endfor %}
    {{ 'union all' if not loop.first }}
    select
        '{{ name }}' as comparison,
        l.level,
        (count(*) filter (where p.parameter = 'm' and p.{{ name }}_level = l.level) + 1)::numeric
        / (count(*) filter (where p.parameter = 'm' and p.{{ name }}_level is not null) + {{ names | length }}) as m,
        (count(*) filter (where p.parameter = 'u' and p.{{ name }}_level = l.level) + 1)::numeric
        / (count(*) filter (where p.parameter = 'u' and p.{{ name }}_level is not null) + {{ names | length }}) as u
    from (values {{ names | join(', ') }}) as l (level)
    cross join parameter_levels as p
    group by l.level
    {%- endfor %}
),
{%- endmacro %}

{#- Every column an entity's comparisons read, once, in declaration order. -#}
{% macro identity_compared_columns(cfg) -%}
    {%- set columns = [] -%}
    {%- for name, cmp in cfg.comparisons.items() -%}
        {%- for col in cmp.columns if col not in columns -%}
            {%- do columns.append(col) -%}
        {%- endfor -%}
    {%- endfor -%}
    {{- return(columns) -}}
{%- endmacro %}

{#- An entity's candidate pairs between deterministic entities, scored: the SQL of
    int_record_pairs_scored (company) and of the person pairs, generated from
    identity_config(entity):
    - profiles: the distinct combinations of the compared columns within an entity (records
      written the same way are compared once);
    - blocking: a pair shares one of blocking.keys (expressions in blocking_keys over the
      compared columns); a key value shared by more than blocking.max_block_size profiles is
      skipped; in link_only / one_to_one modes only profiles of different sources pair up;
    - one row per entity pair: its best-scoring profile pair, with every comparison's level
      (<comparison>_level), the measure of threshold comparisons (<comparison>_similarity or
      _distance), all levels as jsonb (levels) and the match weight. -#}
{% macro identity_pairs_scored(entity='company') -%}
{%- set cfg = identity_config(entity) -%}
{%- set columns = identity_compared_columns(cfg) -%}
{%- set functions = identity_comparison_functions() -%}
{%- set cross_source = cfg.mode in ['link_only', 'one_to_one'] -%}
with records as (
    select * from {{ ref(cfg.records) }}
),

entities as (
    select
        node_num as record_num,
        cluster_num as entity_num
    from {{ ref(cfg.entities) }}
),

profiles as (
    select
        min(r.record_num) as record_num,
        e.entity_num,
        {%- if cross_source %}
        r.source_system,
        {%- endif %}
        {%- for col in columns %}
        r.{{ col }}{{ ',' if not loop.last }}
        {%- endfor %}
    from records as r
    inner join entities as e on r.record_num = e.record_num
    group by
        e.entity_num{% if cross_source %}, r.source_system{% endif %}
        {%- for col in columns %}, r.{{ col }}{% endfor %}
),

blocking_keys as (
    {%- set used = [] %}
    {%- for key in cfg.blocking['keys'] %}
    {%- if key not in cfg.blocking_keys %}
        {%- do exceptions.raise_compiler_error(
            "identity: blocking.keys names '" ~ key ~ "', which blocking_keys does not define (defined: "
            ~ (cfg.blocking_keys.keys() | list | join(', ')) ~ ")"
        ) %}
    {%- endif %}
    {%- for expression in cfg.blocking_keys[key] %}
    {%- do used.append(1) %}
    {{ 'union all' if used | length > 1 }}
    select record_num, entity_num, '{{ key }}' as key_type, ({{ expression }})::text as key_value
    from profiles
    {%- endfor %}
    {%- endfor %}
    {%- if used | length == 0 %}
    select null::integer as record_num, null::integer as entity_num, null::text as key_type, null::text as key_value
    where false
    {%- endif %}
),

usable_keys as (
    select distinct
        record_num,
        entity_num,
        key_type,
        key_value
    from blocking_keys
    where key_value is not null and length(key_value) >= 2
),

block_sizes as (
    select
        key_type,
        key_value
    from usable_keys
    group by key_type, key_value
    having count(*) between 2 and {{ cfg.blocking.max_block_size }}
),

candidates as (
    select distinct
        a.record_num as record_num_a,
        b.record_num as record_num_b
    from block_sizes as k
    inner join usable_keys as a on k.key_type = a.key_type and k.key_value = a.key_value
    inner join usable_keys as b on k.key_type = b.key_type and k.key_value = b.key_value
    where a.entity_num < b.entity_num
),
{%- if identity_estimates_any(cfg) %}

{{ identity_estimate_ctes(cfg) }}
{%- endif %}
{%- for name, cmp in cfg.comparisons.items() if cmp.get('tf_adjust') %}

tf_{{ name }} as (
    {%- if cmp.tf_adjust is mapping %}
    {%- set distinct_columns = [cmp.tf_adjust.distinct] if cmp.tf_adjust.distinct is string else cmp.tf_adjust.distinct %}
    -- per value of {{ cmp.columns[0] }}: its other carriers that differ on {{ distinct_columns | join(' or on ') }}
    -- (namesakes), as a share of the entities
    select
        {{ cmp.columns[0] }} as value,
        greatest(
            {%- for col in distinct_columns %}
            count(distinct {{ col }}) - 1,
            {%- endfor %}
            0
        )::float8
        / (select count(distinct p.entity_num) from profiles as p) as frequency
    {%- else %}
    -- share of entities carrying each value of {{ cmp.columns[0] }}
    select
        {{ cmp.columns[0] }} as value,
        count(distinct entity_num)::float8 / (select count(distinct p.entity_num) from profiles as p) as frequency
    {%- endif %}
    from profiles
    where {{ cmp.columns[0] }} is not null
    group by {{ cmp.columns[0] }}
),
{%- endfor %}

compared as (
    select
        a.entity_num as entity_num_a,
        b.entity_num as entity_num_b,
        a.record_num as record_num_a,
        b.record_num as record_num_b,
        {%- for name, cmp in cfg.comparisons.items() %}
        {%- set fn = functions[cmp.function] %}
        {%- if fn.threshold %}
        {{ identity_comparison_measure(cmp) }} as {{ name }}_{{ 'similarity' if fn.threshold == 'min_similarity' else 'distance' }},
        {%- else %}
        {{ identity_level_sql(cmp) }} as {{ name }}_level,
        {%- endif %}
        {%- if cmp.get('tf_adjust') %}
        tf_{{ name }}.frequency as {{ name }}_frequency,
        {%- endif %}
        {%- endfor %}
        {%- if cross_source %}
        a.source_system as source_system_a,
        b.source_system as source_system_b,
        {%- endif %}
        true as compared
    from candidates as c
    inner join profiles as a on c.record_num_a = a.record_num
    inner join profiles as b on c.record_num_b = b.record_num
    {%- for name, cmp in cfg.comparisons.items() if cmp.get('tf_adjust') %}
    left join tf_{{ name }} on a.{{ cmp.columns[0] }} = b.{{ cmp.columns[0] }} and a.{{ cmp.columns[0] }} = tf_{{ name }}.value
    {%- endfor %}
    {%- if cross_source %}
    where a.source_system <> b.source_system
    {%- endif %}
),

leveled as (
    select
        *
        {%- for name, cmp in cfg.comparisons.items() %}
        {%- set fn = functions[cmp.function] %}
        {%- if fn.threshold %},
        {{ identity_level_sql(cmp, name ~ '_' ~ ('similarity' if fn.threshold == 'min_similarity' else 'distance')) }} as {{ name }}_level
        {%- endif %}
        {%- endfor %}
    from compared
),

weighted as (
    select
        *,
        0
        {%- for name, cmp in cfg.comparisons.items() %}
        + {{ identity_level_weight_sql(cmp, name ~ '_level', name ~ '_frequency' if cmp.get('tf_adjust') else none, name) }}
        {%- endfor %} as match_weight
    from leveled
),

final as (
    select distinct on (entity_num_a, entity_num_b)
        entity_num_a,
        entity_num_b,
        record_num_a,
        record_num_b,
        round(match_weight::numeric, 3) as match_weight,
        match_weight >= {{ cfg.match_threshold }} as is_above_threshold,
        {%- for name, cmp in cfg.comparisons.items() %}
        {%- set fn = functions[cmp.function] %}
        {%- if fn.threshold == 'min_similarity' %}
        round({{ name }}_similarity::numeric, 3) as {{ name }}_similarity,
        {%- elif fn.threshold %}
        {{ name }}_distance,
        {%- endif %}
        {{ name }}_level,
        {%- if cmp.get('tf_adjust') %}
        round({{ name }}_frequency::numeric, 6) as {{ name }}_frequency,
        {%- endif %}
        {%- endfor %}
        jsonb_strip_nulls(jsonb_build_object(
            {%- for name, cmp in cfg.comparisons.items() %}
            '{{ name }}', {{ name }}_level{{ ',' if not loop.last }}
            {%- endfor %}
        )) as levels
    from weighted
    order by entity_num_a, entity_num_b, match_weight desc, record_num_a, record_num_b
)

select * from final
{%- endmacro %}
