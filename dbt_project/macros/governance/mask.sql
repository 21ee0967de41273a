{#- Deterministic masks of personal values (docs/governance.md): the same input always gives the
    same mask, so analysts can still count and join on masked columns. null stays null. -#}

{#- 13812345678 -> 138****5678; a value too short to keep 7 digits is all stars. -#}
{% macro mask_phone(column) -%}
    case
        when {{ column }} is null then null
        when length({{ column }}) >= 8 then left({{ column }}, 3) || '****' || right({{ column }}, 4)
        else repeat('*', length({{ column }}))
    end
{%- endmacro %}

{#- zhang.wei@example.com -> z***@example.com (the domain tells the company, not the person). -#}
{% macro mask_email(column) -%}
    case
        when {{ column }} is null then null
        when strpos({{ column }}, '@') > 1
            then left({{ column }}, 1) || '***' || substr({{ column }}, strpos({{ column }}, '@'))
        else '***'
    end
{%- endmacro %}

{#- 王伟 -> 王*, Anna Smith -> A* (first character, then one star whatever the length). -#}
{% macro mask_name(column) -%}
    case
        when nullif(trim({{ column }}), '') is null then null
        else left(trim({{ column }}), 1) || '*'
    end
{%- endmacro %}

{#- 浙江省杭州市余杭区文一西路969号 -> 浙江省杭州市余杭区***: up to the district (区/县/旗), else up to the
    city (市/自治州/盟); an address naming neither (abroad, free text) keeps nothing. -#}
{% macro mask_address(column) -%}
    case
        when nullif(trim({{ column }}), '') is null then null
        else coalesce(
            substring(trim({{ column }}) from '^(.{1,20}?(区|县|旗))'),
            substring(trim({{ column }}) from '^(.{1,20}?(市|自治州|盟))'),
            ''
        ) || '***'
    end
{%- endmacro %}

{#- 330106199001011234 -> 330106********1234 (region code and check digits kept). -#}
{% macro mask_id_number(column) -%}
    case
        when {{ column }} is null then null
        when length({{ column }}) >= 10 then left({{ column }}, 6) || '********' || right({{ column }}, 4)
        else repeat('*', length({{ column }}))
    end
{%- endmacro %}

{#- The mask of a column by its PII kind (the `meta: {pii: <kind>}` of its YAML). -#}
{% macro mask_pii(column, kind) -%}
    {%- if kind == 'phone' -%}{{ mask_phone(column) }}
    {%- elif kind == 'email' -%}{{ mask_email(column) }}
    {%- elif kind == 'name' -%}{{ mask_name(column) }}
    {%- elif kind == 'address' -%}{{ mask_address(column) }}
    {%- elif kind == 'id_number' -%}{{ mask_id_number(column) }}
    {%- else -%}{{ exceptions.raise_compiler_error("mask_pii: unknown PII kind " ~ kind) }}
    {%- endif -%}
{%- endmacro %}

{#- Free text (notes, ticket descriptions) shown to people: phone numbers and e-mail addresses
    written in it masked like the columns (13812345678 -> 138****5678, a***@example.com); the
    rest of the text is kept (docs/text.md). -#}
{% macro mask_free_text(column) -%}
    regexp_replace(
        regexp_replace({{ column }}, '(1[3-9][0-9])[0-9]{4}([0-9]{4})', '\1****\2', 'g'),
        '([A-Za-z0-9])[A-Za-z0-9._%+-]*(@[A-Za-z0-9.-]+\.[A-Za-z]{2,})', '\1***\2', 'g'
    )
{%- endmacro %}
