{#- Fellegi-Sunter weight log2(m/u) of one level of one comparison in identity_config(). -#}
{% macro fs_weight(comparison, level_name) -%}
    {%- for level in identity_config().comparisons[comparison].levels if level.name == level_name -%}
        log(2.0, {{ level.m }}::numeric / {{ level.u }})
    {%- endfor -%}
{%- endmacro %}

{#- The level of a similarity comparison: the first level (in config order) whose
    min_similarity the similarity reaches; null when the similarity is null. -#}
{% macro fs_similarity_level(comparison, similarity) -%}
    case
        {%- for level in identity_config().comparisons[comparison].levels %}
        when {{ similarity }} >= {{ level.min_similarity }} then '{{ level.name }}'
        {%- endfor %}
    end
{%- endmacro %}

{#- The weight of a level column of a comparison (0 when the level is null: no evidence). -#}
{% macro fs_level_weight(comparison, level_column) -%}
    case {{ level_column }}
        {%- for level in identity_config().comparisons[comparison].levels %}
        when '{{ level.name }}' then {{ fs_weight(comparison, level.name) }}
        {%- endfor %}
        else 0
    end
{%- endmacro %}
