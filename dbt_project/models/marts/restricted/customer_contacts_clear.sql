{#- The buying centre with clear personal values (marts_restricted.customer_contacts): one row
    per customer (CID) and person (person_id) who acts for it, from every record naming the
    person (CRM contacts, lab requesters, service callers, ERP contact persons). Name: the one
    written most often (then the latest); title, phone and e-mail: the latest written; role from
    the title (contact_title_roles seed); owner_sales scopes sales staff's rows (row-level
    security, docs/governance.md). marts.customer_contacts is the masked copy. -#}
with title_roles as (
    select * from {{ ref('contact_title_roles') }}
),

person_ids as (
    select * from {{ ref('person_ids') }}
),

records as (
    select * from {{ ref('int_person_records_normalized') }}
),

owners as (
    select * from {{ ref('int_customer_owners_resolved') }}
),

person_records as (
    select
        r.employer_cid as cid,
        p.person_id,
        r.*
    from records as r
    inner join person_ids as p
        on
            r.source_system = p.source_system
            and r.source_table = p.source_table
            and r.source_record_id = p.source_record_id
    where r.employer_cid is not null
),

names_ranked as (
    select distinct on (cid, person_id)
        cid,
        person_id,
        person_name
    from (
        select
            *,
            count(*) over (partition by cid, person_id, person_name_norm) as times_written
        from person_records
        where person_name_norm is not null
    ) as named
    order by cid asc, person_id asc, times_written desc, seen_at desc, source_record_id asc
),

latest_titles as (
    select distinct on (cid, person_id)
        cid,
        person_id,
        title
    from person_records
    where title is not null
    order by cid asc, person_id asc, seen_at desc, source_record_id asc
),

titles_matched as (
    select
        t.cid,
        t.person_id,
        k.role,
        k.priority,
        k.keyword
    from latest_titles as t
    inner join title_roles as k on {{ title_keyword_match('t.title', 'k.keyword') }}
),

-- the role of the title's first matching keyword by priority
roles_ranked as (
    select distinct on (cid, person_id)
        cid,
        person_id,
        role
    from titles_matched
    order by cid, person_id, priority, role, keyword
),

-- any R&D keyword: an R&D director is a decision-maker and an R&D contact
rd_contacts as (
    select distinct
        cid,
        person_id
    from titles_matched
    where role = 'rd_contact'
),

latest_phones as (
    select distinct on (cid, person_id)
        cid,
        person_id,
        phone
    from person_records
    where phone is not null
    order by cid asc, person_id asc, (phone_kind = 'mobile') desc, seen_at desc, source_record_id asc
),

latest_emails as (
    select distinct on (cid, person_id)
        cid,
        person_id,
        email
    from person_records
    where email is not null
    order by cid asc, person_id asc, seen_at desc, source_record_id asc
),

summary as (
    select
        cid,
        person_id,
        string_agg(distinct source_system || '.' || source_table, ',' order by source_system || '.' || source_table) as sources,
        count(*)::integer as record_count,
        min(seen_at) as first_seen_at,
        max(seen_at) as last_seen_at
    from person_records
    group by cid, person_id
),

final as (
    select
        s.cid,
        s.person_id,
        n.person_name,
        t.title,
        coalesce(ro.role, 'other') as role,
        rd.person_id is not null as is_rd_contact,
        ph.phone,
        e.email,
        s.sources,
        s.record_count,
        s.first_seen_at,
        s.last_seen_at,
        o.owner_sales
    from summary as s
    left join names_ranked as n on s.cid = n.cid and s.person_id = n.person_id
    left join latest_titles as t on s.cid = t.cid and s.person_id = t.person_id
    left join roles_ranked as ro on s.cid = ro.cid and s.person_id = ro.person_id
    left join rd_contacts as rd on s.cid = rd.cid and s.person_id = rd.person_id
    left join latest_phones as ph on s.cid = ph.cid and s.person_id = ph.person_id
    left join latest_emails as e on s.cid = e.cid and s.person_id = e.person_id
    left join owners as o on s.cid = o.cid
)

select * from final
