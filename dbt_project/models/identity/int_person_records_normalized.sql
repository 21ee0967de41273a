{#- Every source record that names a person (a customer's contact), current version, with its
    identifiers normalised: CRM contacts, lab requesters (contact name, phone, e-mail), service
    callers (contact phone and e-mail) and ERP contact persons (a name only). employer_cid is
    the CID of the customer the record belongs to: a CRM contact's account, else the record
    itself (lab, service and ERP records are customer records). Placeholder phones and e-mails
    are no identifiers (null); mobile is the phone when it is a mobile (a landline is often a
    company's switchboard, shared by its people). seen_at is when the record's event happened.
    A record with no name, phone or e-mail at all (erased on request) is not a person's. -#}
with customer_ids as (
    select * from {{ ref('customer_ids') }}
),

crm_contacts as (
    {{ with_first_known_at('stg_crm__contacts', 'contact_id') }}
),

lab_requests as (
    {{ with_first_known_at('stg_lab__sample_requests', 'request_id') }}
),

service_tickets as (
    {{ with_first_known_at('stg_service__tickets', 'ticket_id') }}
),

erp_customers as (
    {{ with_first_known_at('stg_erp__customers', 'customer_code') }}
),

records_unioned as (
    select
        'crm' as source_system,
        'contacts' as source_table,
        contact_id as source_record_id,
        'accounts' as employer_table,
        account_id as employer_record_id,
        contact_name as person_name_raw,
        phone as phone_raw,
        email as email_raw,
        contact_title as title_raw,
        created_at as seen_at,
        first_known_at,
        known_at
    from crm_contacts
    where superseded_at is null

    union all

    select
        'lab' as source_system,
        'sample_requests' as source_table,
        request_id as source_record_id,
        'sample_requests' as employer_table,
        request_id as employer_record_id,
        contact_name as person_name_raw,
        phone as phone_raw,
        email as email_raw,
        null::text as title_raw,
        requested_at as seen_at,
        first_known_at,
        known_at
    from lab_requests
    where superseded_at is null

    union all

    select
        'service' as source_system,
        'tickets' as source_table,
        ticket_id as source_record_id,
        'tickets' as employer_table,
        ticket_id as employer_record_id,
        null::text as person_name_raw,
        contact_phone as phone_raw,
        contact_email as email_raw,
        null::text as title_raw,
        opened_at as seen_at,
        first_known_at,
        known_at
    from service_tickets
    where superseded_at is null

    union all

    select
        'erp' as source_system,
        'customers' as source_table,
        customer_code as source_record_id,
        'customers' as employer_table,
        customer_code as employer_record_id,
        contact_person as person_name_raw,
        null::text as phone_raw,
        null::text as email_raw,
        null::text as title_raw,
        created_at as seen_at,
        first_known_at,
        known_at
    from erp_customers
    where superseded_at is null and nullif(trim(contact_person), '') is not null
),

normalized as (
    select
        r.source_system,
        r.source_table,
        r.source_record_id,
        nullif(trim(r.person_name_raw), '') as person_name,
        {{ normalize_person_name('r.person_name_raw') }} as person_name_norm,
        {{ person_phone(normalize_phone('r.phone_raw')) }} as phone,
        {{ person_email(normalize_email('r.email_raw')) }} as email,
        {{ normalize_title('r.title_raw') }} as title,
        c.cid as employer_cid,
        coalesce(r.seen_at, r.first_known_at) as seen_at,
        r.first_known_at,
        r.known_at
    from records_unioned as r
    left join customer_ids as c
        on
            r.source_system = c.source_system
            and r.employer_table = c.source_table
            and r.employer_record_id = c.source_record_id
    -- a record without any name, phone or e-mail names no one (e.g. one erased on request)
    where coalesce(
        nullif(trim(r.person_name_raw), ''), nullif(trim(r.phone_raw), ''), nullif(trim(r.email_raw), '')
    ) is not null
),

final as (
    select
        row_number() over (order by source_system, source_table, source_record_id)::integer as record_num,
        source_system,
        source_table,
        source_record_id,
        person_name,
        person_name_norm,
        phone,
        {{ phone_kind('phone') }} as phone_kind,
        case when {{ phone_kind('phone') }} = 'mobile' then phone end as mobile,
        email,
        title,
        employer_cid,
        seen_at,
        first_known_at,
        known_at
    from normalized
)

select * from final
