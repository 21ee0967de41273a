{{ config(post_hook="create unique index on {{ this }} (cid)") }}
{#- The golden record: one row per CID, each attribute from the source that wins for it
    (survivorship) and the source it came from. -#}
with customer_ids as (
    select * from {{ ref('customer_ids') }}
),

records as (
    select * from {{ ref('int_company_records_normalized') }}
    where is_customer_record
),

customer_records as (
    select
        c.cid,
        r.*
    from customer_ids as c
    inner join records as r on c.source_system = r.source_system and c.source_record_id = r.source_record_id
),

registry_facts as (
    -- the registry's legal name and credit code win (the latest registry record)
    select distinct on (cid)
        cid,
        name_raw as legal_name,
        credit_code,
        source_system || ':' || source_record_id as registry_source
    from customer_records
    where source_system = 'registry'
    order by cid asc, known_at desc, source_record_id asc
),

names_ranked as (
    -- without a registry record: the name most often written, a Chinese one before a
    -- Latin-only one (English and pinyin names are names too), ERP and CRM before the rest
    select distinct on (cid)
        cid,
        written_name as legal_name,
        source_system || ':' || source_record_id as name_source
    from (
        select
            *,
            nullif(trim(name_raw), '') as written_name,
            count(*) over (partition by cid, nullif(trim(name_raw), '')) as times_written
        from customer_records
    ) as named
    where written_name is not null
    order by
        cid asc,
        coalesce(name_script = 'cjk', false) desc,
        times_written desc,
        (source_system in ('erp', 'crm')) desc,
        known_at desc,
        source_record_id asc
),

codes_named as (
    -- no record names the customer (an ERP code seen only on orders or tickets): its
    -- system and code, so that every customer has a name to be found by
    select distinct on (cid)
        cid,
        upper(source_system) || ' ' || source_record_id as legal_name,
        source_system || ':' || source_record_id || ':code' as name_source
    from customer_records
    order by cid asc, (source_system = 'erp') desc, first_known_at asc, source_record_id asc
),

codes_ranked as (
    select distinct on (cid)
        cid,
        credit_code,
        source_system || ':' || source_record_id as code_source
    from customer_records
    where credit_code is not null
    order by cid asc, (source_system = 'registry') desc, known_at desc, source_record_id asc
),

cities_ranked as (
    -- the most frequent city over all records
    select distinct on (cid)
        cid,
        city,
        'most_frequent:' || times || '_records' as city_source
    from (
        select
            cid,
            city,
            count(*) as times
        from customer_records
        where city is not null
        group by cid, city
    ) as counted
    order by cid asc, times desc, city asc
),

owners as (
    -- the owner of the most recently changed CRM account
    select * from {{ ref('int_customer_owners_resolved') }}
),

summary as (
    select
        cid,
        count(*)::integer as record_count,
        string_agg(distinct source_system, ',' order by source_system) as source_systems,
        min(first_known_at) as first_known_at
    from customer_records
    group by cid
),

buying_centres as (
    -- the customer's resolved contacts (marts.customer_contacts)
    select
        cid,
        count(*)::integer as n_contacts,
        (count(*) filter (where role = 'decision_maker'))::integer as n_decision_makers,
        (count(*) filter (where is_rd_contact))::integer as n_rd_contacts
    from {{ ref('customer_contacts') }}
    group by cid
),

customers as (
    select distinct cid from customer_ids
),

final as (
    select
        c.cid,
        coalesce(rf.legal_name, nr.legal_name, cn.legal_name) as customer_name,
        coalesce(rf.registry_source, nr.name_source, cn.name_source) as customer_name_source,
        coalesce(rf.credit_code, cr.credit_code) as credit_code,
        coalesce(rf.registry_source, cr.code_source) as credit_code_source,
        ci.city,
        ci.city_source,
        o.owner_sales,
        o.owner_sales_source,
        coalesce(s.record_count, 0) as record_count,
        s.source_systems,
        s.first_known_at,
        rf.cid is not null as has_registry_record,
        coalesce(b.n_contacts, 0) as n_contacts,
        coalesce(b.n_decision_makers, 0) as n_decision_makers,
        coalesce(b.n_rd_contacts, 0) as n_rd_contacts
    from customers as c
    left join registry_facts as rf on c.cid = rf.cid
    left join names_ranked as nr on c.cid = nr.cid
    left join codes_named as cn on c.cid = cn.cid
    left join codes_ranked as cr on c.cid = cr.cid
    left join cities_ranked as ci on c.cid = ci.cid
    left join owners as o on c.cid = o.cid
    left join summary as s on c.cid = s.cid
    left join buying_centres as b on c.cid = b.cid
)

select * from final
