{#- The records downstream models compare and link: int_company_records_parsed with its hub
    identifier values (identity.hub_identifiers) removed from phone (and phone_kind), email,
    email_company_domain and address_norm; hub_identifiers names the kinds removed
    (comma-separated text, not text[]: dbt unit tests that mock this model cannot type an
    array column). A
    placeholder or reserved e-mail domain takes its addresses with it. -#}
with records as (
    select * from {{ ref('int_company_records_parsed') }}
),

hubs as (
    select * from {{ ref('hub_identifiers') }}
),

records_flagged as (
    select
        r.*,
        phone_hub.identifier_value is not null as is_phone_hub,
        email_hub.identifier_value is not null as is_email_hub,
        domain_hub.identifier_value is not null as is_domain_hub,
        domain_hub.reason = 'placeholder' as is_placeholder_domain,
        address_hub.identifier_value is not null as is_address_hub
    from records as r
    left join hubs as phone_hub on phone_hub.identifier_kind = 'phone' and r.phone = phone_hub.identifier_value
    left join hubs as email_hub on email_hub.identifier_kind = 'email' and r.email = email_hub.identifier_value
    left join hubs as domain_hub
        on domain_hub.identifier_kind = 'email_domain' and split_part(r.email, '@', 2) = domain_hub.identifier_value
    left join hubs as address_hub on address_hub.identifier_kind = 'address' and r.address_norm = address_hub.identifier_value
),

final as (
    select
        record_num,
        source_system,
        source_table,
        source_record_id,
        is_customer_record,
        name_raw,
        name_norm,
        name_script,
        name_alt_norm,
        city,
        country_code,
        is_abroad,
        credit_code_normalized,
        credit_code,
        case when not is_phone_hub then phone end as phone,
        case when not is_phone_hub then phone_kind end as phone_kind,
        case when not (is_email_hub or coalesce(is_placeholder_domain, false)) then email end as email,
        case when not is_domain_hub then email_company_domain end as email_company_domain,
        case when not is_address_hub then address_norm end as address_norm,
        case when not is_address_hub then address_numbers end as address_numbers,
        nullif(concat_ws(
            ',',
            case when is_phone_hub then 'phone' end,
            case when is_email_hub or coalesce(is_placeholder_domain, false) then 'email' end,
            case when is_domain_hub then 'email_domain' end,
            case when is_address_hub then 'address' end
        ), '') as hub_identifiers,
        contact_name,
        erp_customer_code,
        crm_account_id,
        owner_sales,
        city_raw,
        address_raw,
        first_known_at,
        known_at
    from records_flagged
)

select * from final
