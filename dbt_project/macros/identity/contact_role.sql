{#- The buying-centre role of a normalised job title (normalize_title) from the
    contact_title_roles seed: the role of the first matching keyword by priority, 'other' when
    none matches or there is no title. Chinese keywords match anywhere, Latin ones at the
    start of a word. -#}
{% macro contact_role(title) -%}
    case
        {%- for row in identity_seed_rows('contact_title_roles', 'priority, role, keyword') %}
        when {{ title_keyword_match(title, row['keyword']) }} then '{{ row["role"] }}'
        {%- endfor %}
        else 'other'
    end
{%- endmacro %}

{#- True when a normalised job title carries any keyword of `role` (contact_title_roles): an
    R&D director is a decision-maker and an R&D contact. -#}
{% macro title_has_role(title, role) -%}
    coalesce(
        false
        {%- for row in identity_seed_rows('contact_title_roles', 'priority, role, keyword') if row['role'] == role %}
        or {{ title_keyword_match(title, row['keyword']) }}
        {%- endfor %},
        false
    )
{%- endmacro %}

{#- One keyword test: a substring for Chinese keywords, a word start for Latin ones. -#}
{% macro title_keyword_match(title, keyword) -%}
    {%- set kw = keyword | replace("'", "''") -%}
    {%- if modules.re.match('^[ -~]+$', kw) -%}
        {{ title }} ~ '(^|[^a-z0-9]){{ kw }}'
    {%- else -%}
        strpos({{ title }}, '{{ kw }}') > 0
    {%- endif -%}
{%- endmacro %}
