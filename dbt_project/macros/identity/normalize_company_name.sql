{#- Normalised company name for comparison: NFKC (full-width brackets, letters, spaces and
    punctuation become half-width), lower case, a leading article (the) dropped, department and
    legal-form suffixes removed (company_name_words; a Latin form such as co or ag only as a
    whole word, so follonico keeps its letters), bracketed parts removed (usually a city:
    普科新材料科技（上海）有限公司), the leading province/city removed when city_pattern (see
    city_prefix_pattern) is given, then every space and punctuation mark removed. Group words
    such as 集团 are kept. -#}
{% macro normalize_company_name(column, city_pattern=none) -%}
    {%- set depts = company_name_words('department') | join('|') -%}
    {%- set forms = [] -%}
    {%- for form in company_name_words('legal_form') -%}
        {%- set pattern = form | replace('.', ' ') | replace(',', ' ') | trim | replace(' ', '\\s*') -%}
        {#- a Latin form is a whole word: not preceded by a Latin letter or digit -#}
        {%- do forms.append(('(?<![a-z0-9])' ~ pattern) if form[0] in 'abcdefghijklmnopqrstuvwxyz' else pattern) -%}
    {%- endfor -%}
    {%- set articles = company_name_words('article') -%}
    {%- set step_punct -%}
        regexp_replace(lower(normalize(coalesce({{ column }}, ''), nfkc)), '[,.&''"·]', ' ', 'g')
    {%- endset -%}
    {%- if articles -%}
        {%- set step_punct -%}
            regexp_replace({{ step_punct }}, '^\s*({{ articles | join("|") }})\s+', '')
        {%- endset -%}
    {%- endif -%}
    {%- set step_dept -%}
        regexp_replace({{ step_punct }}, '\s*({{ depts }})\s*$', '')
    {%- endset -%}
    {%- set step_form -%}
        regexp_replace({{ step_dept }}, '(\s*({{ forms | join("|") }}))+\s*$', '')
    {%- endset -%}
    {%- set step_bracket -%}
        regexp_replace({{ step_form }}, '\([^)]*\)', '', 'g')
    {%- endset -%}
    {%- if city_pattern is not none -%}
        {%- set step_city -%}
            regexp_replace({{ step_bracket }}, {{ city_pattern }}, '')
        {%- endset -%}
    {%- else -%}
        {%- set step_city = step_bracket -%}
    {%- endif -%}
    nullif(regexp_replace({{ step_city }}, '[[:space:][:punct:]]', '', 'g'), '')
{%- endmacro %}

{#- 'cjk' when the name holds Chinese characters, else 'latin' (English or pinyin names are
    not compared with Chinese ones by trigram). -#}
{% macro company_name_script(normalized_name) -%}
    case
        when {{ normalized_name }} is null then null
        when {{ normalized_name }} ~ '[\u4e00-\u9fff]' then 'cjk'
        else 'latin'
    end
{%- endmacro %}

{#- A regex (as a SQL expression evaluated once per query) matching a leading province and/or
    city, with or without 省/市, built from the identity_cn_cities seed. -#}
{% macro city_prefix_pattern() -%}
    (
        select
            '^(' || string_agg(distinct regexp_replace(province, '(省|市|壮族自治区|回族自治区|维吾尔自治区|自治区)$', ''), '|')
            || ')?(省|市|自治区)?(' || string_agg(distinct regexp_replace(city, '市$', ''), '|') || ')?市?'
        from {{ ref('identity_cn_cities') }}
    )
{%- endmacro %}

{#- The words of one kind ('legal_form', 'department' or 'article') of the identity_company_name_words
    seed, in strip order: a company name loses these suffixes (articles: this prefix) before
    comparison. -#}
{% macro company_name_words(word_kind) -%}
    {%- set words = [] -%}
    {%- for row in identity_seed_rows('identity_company_name_words', 'strip_order') if row['word_kind'] == word_kind -%}
        {%- do words.append(row['word']) -%}
    {%- endfor -%}
    {{- return(words) -}}
{%- endmacro %}

{% macro city_key(expr) -%}
{#- The key a city is looked up by in identity_city_aliases (the same as city_key in
    portrait/cli/identity.py, which writes the seed): accents dropped (unaccent), lower case,
    anything but a-z, 0-9 and CJK ideographs collapsed to one space. -#}
nullif(trim(regexp_replace(
    public.unaccent('public.unaccent'::regdictionary, lower(normalize(coalesce({{ expr }}, ''), nfkc))),
    '[^0-9a-z\u4e00-\u9fff]+', ' ', 'g'
)), '')
{%- endmacro %}
