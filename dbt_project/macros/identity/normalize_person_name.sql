{#- A person's name for comparison: NFKC (full-width letters and spaces half-width), lower case
    (Latin names), spaces, dots and middle dots (阿卜杜·热合曼) removed. A bare surname with an
    honorific or a job title (王先生, 李女士, 张总, 刘工, 陈经理, Mr. Wang) is how a caller is
    addressed, not a name: null. -#}
{% macro normalize_person_name(column) -%}
    {%- set folded = "lower(trim(normalize(coalesce(" ~ column ~ ", ''), nfkc)))" -%}
    {%- set cleaned = "regexp_replace(" ~ folded ~ ", '[[:space:].·•・]+', '', 'g')" -%}
    case
        when {{ cleaned }} ~ '^.(先生|女士|小姐|老师|总|工|经理|主任|博士|教授)$' then null
        when {{ folded }} ~ '^(mr|mrs|ms|miss|dr)\.?\s+[a-z-]+$' then null
        else nullif({{ cleaned }}, '')
    end
{%- endmacro %}

{#- A job title for comparison and role keywords: NFKC, lower case, runs of spaces as one. -#}
{% macro normalize_title(column) -%}
    nullif(regexp_replace(lower(trim(normalize(coalesce({{ column }}, ''), nfkc))), '[[:space:]]+', ' ', 'g'), '')
{%- endmacro %}

{#- A normalised phone, null when it is an obvious placeholder typed to fill a required field
    (13800138000, 13333333333, 13000000000, eight equal digits in a row). -#}
{% macro person_phone(normalized_phone) -%}
    case when not ({{ normalized_phone }} ~ '^1(3800138000|3800000000|23456789..)$' or {{ normalized_phone }} ~ '(\d)\1{7}')
        then {{ normalized_phone }}
    end
{%- endmacro %}

{#- A normalised e-mail, null when it is an obvious placeholder (test@, none@, noreply@, x@,
    123@ ...). -#}
{% macro person_email(normalized_email) -%}
    case when not {{ normalized_email }} ~ '^(test|none|null|na|no|noreply|no-reply|x+|0+|1+|123\d*|abc|aaa+)@'
        then {{ normalized_email }}
    end
{%- endmacro %}
