{#- Every source record that names a customer, current version, with its identifiers parsed
    and normalised (macros/identity). CRM contacts are evidence only (they link to their
    account); ERP codes seen on orders or tickets but never in the customer master are bare
    records. A record abroad (country column of CRM accounts / ERP customers, an ISO code or a
    name, not China) has its national phone numbers prefixed with its country's calling code
    (identity_phone_country_codes) and no city inferred from its phone; a city that is not in
    identity_cn_cities is looked up in identity_city_aliases (GeoNames' spellings of cities
    abroad: München, Muenchen, 慕尼黑 -> Munich), in the record's country when it names one,
    and is kept as text when neither knows it. Hub identifiers are removed downstream
    (int_company_records_normalized). -#}
{#- pg_trgm (similarity) is needed by int_record_pairs_scored and its unit tests, which run
    before that model's own hooks. -#}
{{ config(pre_hook=[
    "create extension if not exists pg_trgm with schema public",
    "create extension if not exists unaccent with schema public",
]) }}
with cities as (
    select * from {{ ref('identity_cn_cities') }}
),

-- a city abroad by its spelling key: in a given country, and (no country on the record) the
-- most populous city anywhere written so
city_aliases as (
    select * from {{ ref('identity_city_aliases') }}
),

city_aliases_anywhere as (
    select distinct on (alias)
        alias,
        city
    from city_aliases
    order by alias, population desc, country_code
),

phone_countries as (
    select * from {{ ref('identity_phone_country_codes') }}
),

-- a country as written (ISO code, English or Chinese name, a few common spellings) -> region
country_spellings as (
    select region, upper(region) as spelling from phone_countries
    union
    select region, upper(name_en) as spelling from phone_countries where name_en is not null
    union
    select region, upper(name_zh) as spelling from phone_countries where name_zh is not null
    union
    select
        alias.region,
        alias.spelling
    from (
        values
        ('CN', 'CN'), ('CN', 'CHINA'), ('CN', '中国'), ('CN', 'CHN'), ('CN', 'PRC'), ('CN', '中华人民共和国'), ('CN', '中国大陆'), ('CN', 'MAINLAND CHINA'),
        ('CN', 'PEOPLE''S REPUBLIC OF CHINA'), ('US', 'USA'), ('US', 'AMERICA'), ('US', 'U.S.A.'),
        ('US', 'U.S.'), ('GB', 'UK'), ('GB', 'GBR'), ('GB', 'ENGLAND'), ('GB', 'GREAT BRITAIN'),
        ('DE', 'DEU'), ('DE', 'DEUTSCHLAND'), ('JP', 'JPN'), ('KR', 'KOR'), ('KR', 'KOREA'),
        ('KR', 'SOUTH KOREA'), ('NL', 'HOLLAND'), ('FR', 'FRA'), ('IT', 'ITA'), ('RU', 'RUSSIA')
    ) as alias (region, spelling)
),

country_names as (
    select
        spelling,
        min(region) as region
    from country_spellings
    group by spelling
),

crm_accounts as (
    {{ with_first_known_at('stg_crm__accounts', 'account_id') }}
),

crm_contacts as (
    {{ with_first_known_at('stg_crm__contacts', 'contact_id') }}
),

erp_customers as (
    {{ with_first_known_at('stg_erp__customers', 'customer_code') }}
),

erp_orders as (
    select
        customer_code,
        min(known_at) as first_known_at
    from {{ ref('stg_erp__orders') }}
    group by customer_code
),

lab_requests as (
    {{ with_first_known_at('stg_lab__sample_requests', 'request_id') }}
),

service_tickets as (
    {{ with_first_known_at('stg_service__tickets', 'ticket_id') }}
),

projects as (
    {{ with_first_known_at('stg_projects__projects', 'project_id') }}
),

registry_companies as (
    {{ with_first_known_at('stg_registry__companies', 'credit_code') }}
),

records_unioned as (
    select
        'crm' as source_system,
        'accounts' as source_table,
        account_id as source_record_id,
        true as is_customer_record,
        account_name as name_raw,
        null::text as name_alt_raw,
        city as city_raw,
        credit_code_raw,
        phone as phone_raw,
        email as email_raw,
        address as address_raw,
        country as country_raw,
        null::text as contact_name,
        null::text as erp_customer_code,
        account_id as crm_account_id,
        owner_sales,
        first_known_at,
        known_at
    from crm_accounts
    where superseded_at is null

    union all

    select
        'crm' as source_system,
        'contacts' as source_table,
        contact_id as source_record_id,
        false as is_customer_record,
        null::text as name_raw,
        null::text as name_alt_raw,
        null::text as city_raw,
        null::text as credit_code_raw,
        phone as phone_raw,
        email as email_raw,
        null::text as address_raw,
        null::text as country_raw,
        contact_name,
        null::text as erp_customer_code,
        account_id as crm_account_id,
        null::text as owner_sales,
        first_known_at,
        known_at
    from crm_contacts
    where superseded_at is null

    union all

    select
        'erp' as source_system,
        'customers' as source_table,
        customer_code as source_record_id,
        true as is_customer_record,
        customer_name as name_raw,
        null::text as name_alt_raw,
        city as city_raw,
        credit_code_raw,
        phone as phone_raw,
        null::text as email_raw,
        address as address_raw,
        country as country_raw,
        contact_person as contact_name,
        customer_code as erp_customer_code,
        null::text as crm_account_id,
        null::text as owner_sales,
        first_known_at,
        known_at
    from erp_customers
    where superseded_at is null

    union all

    select
        'erp' as source_system,
        'customers' as source_table,
        codes.customer_code as source_record_id,
        true as is_customer_record,
        null::text as name_raw,
        null::text as name_alt_raw,
        null::text as city_raw,
        null::text as credit_code_raw,
        null::text as phone_raw,
        null::text as email_raw,
        null::text as address_raw,
        null::text as country_raw,
        null::text as contact_name,
        codes.customer_code as erp_customer_code,
        null::text as crm_account_id,
        null::text as owner_sales,
        codes.first_known_at,
        codes.first_known_at as known_at
    from erp_orders as codes
    where not exists (select 1 from erp_customers as c where c.customer_code = codes.customer_code)

    union all

    select
        'lab' as source_system,
        'sample_requests' as source_table,
        request_id as source_record_id,
        true as is_customer_record,
        requester_org as name_raw,
        null::text as name_alt_raw,
        null::text as city_raw,
        null::text as credit_code_raw,
        phone as phone_raw,
        email as email_raw,
        null::text as address_raw,
        null::text as country_raw,
        contact_name,
        null::text as erp_customer_code,
        null::text as crm_account_id,
        null::text as owner_sales,
        first_known_at,
        known_at
    from lab_requests
    where superseded_at is null

    union all

    select
        'service' as source_system,
        'tickets' as source_table,
        ticket_id as source_record_id,
        true as is_customer_record,
        customer_name as name_raw,
        null::text as name_alt_raw,
        null::text as city_raw,
        null::text as credit_code_raw,
        contact_phone as phone_raw,
        contact_email as email_raw,
        null::text as address_raw,
        null::text as country_raw,
        null::text as contact_name,
        nullif(trim(erp_customer_code), '') as erp_customer_code,
        null::text as crm_account_id,
        null::text as owner_sales,
        first_known_at,
        known_at
    from service_tickets
    where superseded_at is null

    union all

    select
        'projects' as source_system,
        'projects' as source_table,
        project_id as source_record_id,
        true as is_customer_record,
        partner_name as name_raw,
        null::text as name_alt_raw,
        null::text as city_raw,
        partner_credit_code_raw as credit_code_raw,
        null::text as phone_raw,
        null::text as email_raw,
        null::text as address_raw,
        null::text as country_raw,
        null::text as contact_name,
        null::text as erp_customer_code,
        null::text as crm_account_id,
        null::text as owner_sales,
        first_known_at,
        known_at
    from projects
    where superseded_at is null

    union all

    select
        'registry' as source_system,
        'companies' as source_table,
        credit_code as source_record_id,
        true as is_customer_record,
        legal_name as name_raw,
        english_name as name_alt_raw,
        city as city_raw,
        credit_code as credit_code_raw,
        null::text as phone_raw,
        null::text as email_raw,
        address as address_raw,
        null::text as country_raw,
        null::text as contact_name,
        null::text as erp_customer_code,
        null::text as crm_account_id,
        null::text as owner_sales,
        first_known_at,
        known_at
    from registry_companies
    where superseded_at is null
),

records_located as (
    select
        u.*,
        nullif(trim(normalize(coalesce(u.country_raw, ''), nfkc)), '') as country_written,
        country.region as country_code
    from records_unioned as u
    left join country_names as country
        on country.spelling = upper(trim(normalize(coalesce(u.country_raw, ''), nfkc)))
),

records_abroad as (
    select
        l.*,
        coalesce(l.country_written is not null and l.country_code is distinct from 'CN', false) as is_abroad,
        pc.calling_code,
        pc.national_prefix
    from records_located as l
    left join phone_countries as pc on pc.region = l.country_code and l.country_code <> 'CN'
),

normalized as (
    select
        source_system,
        source_table,
        source_record_id,
        is_customer_record,
        name_raw,
        {{ normalize_company_name('name_raw', city_prefix_pattern()) }} as name_norm,
        {{ normalize_company_name('name_alt_raw', city_prefix_pattern()) }} as name_alt_norm,
        (select coalesce(m[3], m[1]) from regexp_match({{ normalize_company_name('name_raw') }}, {{ city_prefix_pattern() }}) as m)
            as name_prefix_city,
        (regexp_match(normalize(coalesce(name_raw, ''), nfkc), '\(([^)]*)\)'))[1] as name_bracket_city,
        regexp_replace(trim(normalize(coalesce(city_raw, ''), nfkc)), '市$', '') as city_column,
        nullif(lower(trim(normalize(coalesce(city_raw, ''), nfkc))), '') as city_text,
        {{ city_key('city_raw') }} as city_key,
        is_abroad,
        country_code,
        {{ normalize_credit_code('credit_code_raw') }} as credit_code_normalized,
        {{ valid_credit_code('credit_code_raw') }} as credit_code,
        case
            when is_abroad and calling_code is null and normalize(coalesce(phone_raw, ''), nfkc) !~ '^[\s(]*(\+|00)' then null
            else {{ normalize_phone('phone_raw', 'calling_code', 'national_prefix') }}
        end as phone,
        {{ normalize_email('email_raw') }} as email,
        {{ normalize_address('address_raw', city_prefix_pattern()) }} as address_norm,
        {{ address_numbers("normalize(address_raw, nfkc)") }} as address_numbers,
        nullif(trim(contact_name), '') as contact_name,
        erp_customer_code,
        crm_account_id,
        owner_sales,
        city_raw,
        address_raw,
        first_known_at,
        known_at
    from records_abroad
),

area_codes as (
    select
        area_code,
        min(city) as city
    from cities
    group by area_code
    having count(*) = 1
),

final as (
    select
        row_number() over (order by n.source_system, n.source_table, n.source_record_id)::integer as record_num,
        n.source_system,
        n.source_table,
        n.source_record_id,
        n.is_customer_record,
        n.name_raw,
        n.name_norm,
        {{ company_name_script('n.name_norm') }} as name_script,
        n.name_alt_norm,
        coalesce(
            city_col.city, city_bracket.city, city_prefix.city,
            case when not n.is_abroad then city_phone.city end,
            city_abroad.city, city_anywhere.city,
            n.city_text
        ) as city,
        n.country_code,
        n.is_abroad,
        n.credit_code_normalized,
        n.credit_code,
        n.phone,
        {{ phone_kind('n.phone') }} as phone_kind,
        n.email,
        {{ company_email_domain('n.email') }} as email_company_domain,
        n.address_norm,
        n.address_numbers,
        n.contact_name,
        n.erp_customer_code,
        n.crm_account_id,
        n.owner_sales,
        n.city_raw,
        n.address_raw,
        n.first_known_at,
        n.known_at
    from normalized as n
    left join cities as city_col on regexp_replace(city_col.city, '市$', '') = n.city_column
    left join cities as city_bracket on regexp_replace(city_bracket.city, '市$', '') = regexp_replace(n.name_bracket_city, '市$', '')
    left join cities as city_prefix on regexp_replace(city_prefix.city, '市$', '') = n.name_prefix_city
    left join area_codes as city_phone on city_phone.area_code = {{ phone_area_code('n.phone') }}
    left join city_aliases as city_abroad
        on n.city_key = city_abroad.alias and n.country_code = city_abroad.country_code
    left join city_aliases_anywhere as city_anywhere
        on n.city_key = city_anywhere.alias and n.country_code is null
)

select * from final
