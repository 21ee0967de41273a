{#- Unified social credit code as typed, cleaned of formatting only (case, spaces, dashes,
    full-width characters); null when empty. Validity is a separate question (is_valid_uscc). -#}
{% macro normalize_credit_code(column) -%}
    nullif(upper(regexp_replace(normalize(coalesce({{ column }}, ''), nfkc), '[[:space:]-]', '', 'g')), '')
{%- endmacro %}

{#- True when an already normalised code is a valid GB 32100-2015 unified social credit code:
    18 characters over 0-9 A-Y without I O S V Z, and the 18th is the check character
    (31 - sum(value(i) * weight(i)) mod 31) mod 31 over the first 17. -#}
{% macro is_valid_uscc(code) -%}
    {%- set charset = '0123456789ABCDEFGHJKLMNPQRTUWXY' -%}
    {%- set weights = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28] -%}
    coalesce(
        {{ code }} ~ '^[0-9A-HJ-NPQRTUWXY]{18}$'
        and substr('{{ charset }}', (31 - (
            {%- for w in weights %}
            (strpos('{{ charset }}', substr({{ code }}, {{ loop.index }}, 1)) - 1) * {{ w }}{{ ' +' if not loop.last }}
            {%- endfor %}
        ) % 31) % 31 + 1, 1) = substr({{ code }}, 18, 1),
        false
    )
{%- endmacro %}

{#- The normalised code when it is valid, else null: an invalid code is not an identifier. -#}
{% macro valid_credit_code(column) -%}
    case when {{ is_valid_uscc(normalize_credit_code(column)) }} then {{ normalize_credit_code(column) }} end
{%- endmacro %}

{#- Phone number: a number written with + or 00 and a calling code other than 86 becomes
    E.164 (+<calling code><number>, kind international) and is never read as a Chinese area
    code. A national-format number of a record abroad (calling_code and national_prefix: SQL
    expressions from identity_phone_country_codes, for records whose country is not China)
    loses its trunk prefix and gets that calling code. Chinese numbers as digits: mobiles as
    11 digits (1xxxxxxxxxx), landlines with their trunk 0 and area code (02138721983); +86 /
    86- / (+86), spaces, dashes and brackets removed, extensions (转 123, ext. 123, x123, a
    fourth dash group) dropped. Null if not a phone. -#}
{% macro normalize_phone(column, calling_code='null', national_prefix='null') -%}
    {%- set unextended -%}
        regexp_replace(lower(normalize(coalesce({{ column }}, ''), nfkc)), '\s*(转|分机|ext\.?|x|#).*$', '')
    {%- endset -%}
    {%- set international -%}
        regexp_replace(regexp_replace({{ unextended }}, '^[\s(]*(\+|00)', ''), '\D', '', 'g')
    {%- endset -%}
    {%- set national -%}
        regexp_replace({{ unextended }}, '\D', '', 'g')
    {%- endset -%}
    {%- set cleaned -%}
        regexp_replace(
            regexp_replace({{ unextended }}, '^[\s(]*(\+|00)?86\)?[\s-]*', ''),
            '^(\(?0?\d{2,3}\)?[\s-]?\d{3,4}\s?\d{4})-\d{1,5}$', '\1'
        )
    {%- endset -%}
    {%- set digits = "regexp_replace(" ~ cleaned ~ ", '\\D', '', 'g')" -%}
    case
        when {{ unextended }} ~ '^[\s(]*(\+|00)' and {{ international }} !~ '^86'
            then case when {{ international }} ~ '^[1-9][0-9]{6,14}$' then '+' || {{ international }} end
        when {{ calling_code }} is not null and {{ calling_code }} <> '86' and {{ unextended }} !~ '^[\s(]*(\+|00)'
            then case
                when {{ national }} ~ '^[0-9]{4,15}$'
                    then '+' || {{ calling_code }} || regexp_replace({{ national }}, '^' || coalesce({{ national_prefix }}, ''), '')
            end
        when {{ digits }} ~ '^1[3-9][0-9]{9}$' then {{ digits }}
        when {{ digits }} ~ '^0[1-9][0-9]{8,10}$' then {{ digits }}
        when {{ digits }} ~ '^[2-9][0-9]{8,10}$' or {{ digits }} ~ '^10[0-9]{8}$' then '0' || {{ digits }}
    end
{%- endmacro %}

{#- 'mobile' or 'landline' (Chinese) or 'international' (E.164, +...) for a normalised phone. -#}
{% macro phone_kind(normalized_phone) -%}
    case
        when {{ normalized_phone }} like '+%' then 'international'
        when {{ normalized_phone }} like '1%' then 'mobile'
        when {{ normalized_phone }} like '0%' then 'landline'
    end
{%- endmacro %}

{#- Area code (with its 0) of a normalised Chinese landline: 3 digits for 01x/02x, else 4;
    null for mobiles and international numbers. -#}
{% macro phone_area_code(normalized_phone) -%}
    case
        when {{ normalized_phone }} ~ '^0[12]' then left({{ normalized_phone }}, 3)
        when {{ normalized_phone }} like '0%' then left({{ normalized_phone }}, 4)
    end
{%- endmacro %}

{#- E-mail address in lower case, full-width @ and stray spaces / separators removed; null
    when it does not look like an address. -#}
{% macro normalize_email(column) -%}
    {%- set cleaned = "regexp_replace(lower(normalize(coalesce(" ~ column ~ ", ''), nfkc)), '[[:space:];,]+', '', 'g')" -%}
    case when {{ cleaned }} ~ '^[^@]+@[^@]+\.[a-z]{2,}$' then {{ cleaned }} end
{%- endmacro %}

{#- The domain of a normalised e-mail when it is company evidence: not a free-mail domain
    (identity_free_mail_domains seed). -#}
{% macro company_email_domain(normalized_email) -%}
    {%- set free = [] -%}
    {%- for row in identity_seed_rows('identity_free_mail_domains', 'domain') -%}
        {%- do free.append(row['domain']) -%}
    {%- endfor -%}
    case
        when split_part({{ normalized_email }}, '@', 2) not in ('{{ free | join("', '") }}')
            then nullif(split_part({{ normalized_email }}, '@', 2), '')
    end
{%- endmacro %}

{#- Address for comparison: NFKC, lower case, traditional 號 as 号, ß as ss, bracketed notes (厂区,
    研发楼) removed; in an address with Latin letters, each abbreviation word written out
    (identity_address_abbreviations: st. -> street, str. -> strasse, # -> no; a whole word, so
    1st stays); then spaces and punctuation removed, leading province and city dropped. The
    abbreviations are a lookup per word, not one regex each: PostgreSQL caches only 32
    compiled regexes per session. -#}
{% macro normalize_address(column, city_pattern=none) -%}
    {%- set lowered -%}
        regexp_replace(replace(replace(lower(normalize(coalesce({{ column }}, ''), nfkc)), '號', '号'), 'ß', 'ss'), '\([^)]*\)', '', 'g')
    {%- endset -%}
    {%- set pairs = [] -%}
    {%- for row in identity_seed_rows('identity_address_abbreviations', 'abbreviation') -%}
        {%- do pairs.append("('" ~ (row['abbreviation'] | replace("'", "''")) ~ "', '" ~ (row['expansion'] | replace("'", "''")) ~ "')") -%}
    {%- endfor -%}
    {%- if pairs -%}
        {%- set expanded -%}
            case
                when {{ lowered }} ~ '[a-z#]' then (
                    select string_agg(coalesce(abbr.expansion, w.word), ' ' order by w.n)
                    from regexp_split_to_table(regexp_replace({{ lowered }}, '([.#])', '\1 ', 'g'), '[[:space:],;]+')
                        with ordinality as w (word, n)
                    left join (values {{ pairs | join(', ') }}) as abbr (abbreviation, expansion) on w.word = abbr.abbreviation
                )
                else {{ lowered }}
            end
        {%- endset -%}
    {%- else -%}
        {%- set expanded = lowered -%}
    {%- endif -%}
    {%- set base -%}
        regexp_replace({{ expanded }}, '[[:space:][:punct:]]', '', 'g')
    {%- endset -%}
    {%- if city_pattern is not none -%}
        nullif(regexp_replace(regexp_replace({{ base }}, {{ city_pattern }}, ''), '号$', ''), '')
    {%- else -%}
        nullif(regexp_replace({{ base }}, '号$', ''), '')
    {%- endif -%}
{%- endmacro %}

{#- The numbers written in an address (house, building, postcode: read from the raw address, whose
    spaces keep 161 and 53132 apart), space-separated (text: dbt unit tests cannot mock arrays);
    null when it has none. -#}
{% macro address_numbers(expr) -%}
nullif(trim(regexp_replace({{ expr }}, '[^0-9]+', ' ', 'g')), '')
{%- endmacro %}
