{#- The levels of one comparison from the identity_match_levels seed, in level order, as
    dictionaries (name, min_similarity, m, u). -#}
{% macro match_levels(comparison) -%}
    {%- set levels = [] -%}
    {%- for row in identity_seed_rows('identity_match_levels', 'comparison, level_order') if row['comparison'] == comparison -%}
        {%- do levels.append({'name': row['level'], 'min_similarity': row['min_similarity'], 'm': row['m'], 'u': row['u']}) -%}
    {%- endfor -%}
    {{- return(levels) -}}
{%- endmacro %}

{#- Fellegi-Sunter weight log2(m/u) of one level (a match_levels dictionary). -#}
{% macro fs_weight(level) -%}
    log(2.0, {{ level.m }}::numeric / {{ level.u }})
{%- endmacro %}

{#- The level of a similarity comparison: the first level (in level order) whose
    min_similarity the similarity reaches; null when the similarity is null. -#}
{% macro fs_similarity_level(comparison, similarity) -%}
    case
        {%- for level in match_levels(comparison) %}
        when {{ similarity }} >= {{ level.min_similarity }} then '{{ level.name }}'
        {%- endfor %}
    end
{%- endmacro %}

{#- The weight of a level column of a comparison (0 when the level is null: no evidence). -#}
{% macro fs_level_weight(comparison, level_column) -%}
    case {{ level_column }}
        {%- for level in match_levels(comparison) %}
        when '{{ level.name }}' then {{ fs_weight(level) }}
        {%- endfor %}
        else 0
    end
{%- endmacro %}
