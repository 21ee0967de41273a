{#- Hub identifiers: phone numbers, e-mail addresses, e-mail domains and addresses that do not
    identify one customer, so int_company_records_normalized drops them from the compared and
    linked columns. One row per identifier value found, with the first reason that applies:
    placeholder - matches a pattern of the identity_placeholder_identifiers seed (13800138000,
        noreply@, example.com, ...);
    conflicting_credit_codes - its carriers hold at least two different valid credit codes,
        their own or that of the CRM account / ERP customer they belong to (a switchboard,
        an agency's e-mail, an industrial park's address);
    too_many_companies - carried by records of more than identity_hub_identifiers.max_name_groups
        name groups (first characters of the normalised name), a backstop for records without
        codes. One person's mobile on many requests of one institute stays: one name group;
    conflicting_cities - a company e-mail domain whose carriers are in more than
        max_domain_cities cities: companies abroad have no credit code, and namesakes in two
        cities share a brand domain (lakeshore.com in Los Angeles and Boston). -#}
{%- set hub = identity_config().hub_identifiers -%}

with records as (
    select * from {{ ref('int_company_records_parsed') }}
),

placeholders as (
    select * from {{ ref('identity_placeholder_identifiers') }}
),

-- the valid credit code of the CRM account / ERP customer a record belongs to
account_codes as (
    select
        crm_account_id,
        min(credit_code) as credit_code
    from records
    where credit_code is not null and crm_account_id is not null
    group by crm_account_id
),

erp_codes as (
    select
        erp_customer_code,
        min(credit_code) as credit_code
    from records
    where credit_code is not null and erp_customer_code is not null
    group by erp_customer_code
),

records_grouped as (
    select
        r.record_num,
        r.name_raw,
        r.name_norm,
        r.city,
        coalesce(r.credit_code, a.credit_code, e.credit_code) as group_credit_code,
        left(coalesce(r.name_norm, r.name_alt_norm), case when r.name_script = 'cjk' then 2 else 5 end) as name_group,
        r.phone,
        r.email,
        r.email_company_domain,
        r.address_norm
    from records as r
    left join account_codes as a on r.crm_account_id = a.crm_account_id
    left join erp_codes as e on r.erp_customer_code = e.erp_customer_code
),

carried as (
    select record_num, name_raw, name_norm, city, group_credit_code, name_group, 'phone' as identifier_kind, phone as identifier_value
    from records_grouped
    where phone is not null
    union all
    select record_num, name_raw, name_norm, city, group_credit_code, name_group, 'email' as identifier_kind, email as identifier_value
    from records_grouped
    where email is not null
    union all
    select
        record_num, name_raw, name_norm, city, group_credit_code, name_group, 'email_domain' as identifier_kind,
        email_company_domain as identifier_value
    from records_grouped
    where email_company_domain is not null
    union all
    select
        record_num, name_raw, name_norm, city, group_credit_code, name_group, 'address' as identifier_kind,
        address_norm as identifier_value
    from records_grouped
    where address_norm is not null
),

identifiers as (
    select
        identifier_kind,
        identifier_value,
        count(*)::integer as carriers,
        count(distinct group_credit_code)::integer as credit_codes,
        count(distinct name_norm)::integer as names,
        count(distinct name_group)::integer as name_groups,
        count(distinct city)::integer as cities,
        array_to_string((array_agg(distinct name_raw) filter (where name_raw is not null))[1:3], ' | ') as example_names
    from carried
    group by identifier_kind, identifier_value
),

flagged as (
    select
        i.*,
        case
            when exists (
                select 1
                from placeholders as p
                where p.identifier_kind = i.identifier_kind and i.identifier_value ~ p.pattern
            ) then 'placeholder'
            when i.credit_codes >= {{ hub['min_credit_codes'] }} then 'conflicting_credit_codes'
            when i.name_groups > {{ hub['max_name_groups'] }} then 'too_many_companies'
            when i.identifier_kind = 'email_domain' and i.cities > {{ hub['max_domain_cities'] }} then 'conflicting_cities'
        end as reason
    from identifiers as i
),

final as (
    select
        identifier_kind,
        identifier_value,
        reason,
        carriers,
        credit_codes,
        names,
        name_groups,
        cities,
        example_names
    from flagged
    where reason is not null
)

select * from final
