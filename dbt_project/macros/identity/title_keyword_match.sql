{#- True when a normalised job title (normalize_title) carries a keyword of the
    contact_title_roles seed: anywhere for a Chinese keyword, at the start of a word for a
    Latin one (cto is not in director, engineer is in engineering). -#}
{% macro title_keyword_match(title, keyword) -%}
    case
        when {{ keyword }} ~ '^[ -~]+$' then {{ title }} ~ ('(^|[^a-z0-9])' || {{ keyword }})
        else strpos({{ title }}, {{ keyword }}) > 0
    end
{%- endmacro %}
