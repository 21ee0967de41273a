{#- The buying centre: one row per customer (CID) and person (person_id) who acts for it, from
    every record naming the person (CRM contacts, lab requesters, service callers, ERP contact
    persons). Name: the one written most often (then the latest); title, phone and e-mail: the
    latest written; role from the title (contact_title_roles seed). -#}
with person_ids as (
    select * from {{ ref('person_ids') }}
),

records as (
    select * from {{ ref('int_person_records_normalized') }}
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
    order by cid, person_id, times_written desc, seen_at desc, source_record_id
),

latest_titles as (
    select distinct on (cid, person_id)
        cid,
        person_id,
        title
    from person_records
    where title is not null
    order by cid, person_id, seen_at desc, source_record_id
),

latest_phones as (
    select distinct on (cid, person_id)
        cid,
        person_id,
        phone
    from person_records
    where phone is not null
    order by cid, person_id, (phone_kind = 'mobile') desc, seen_at desc, source_record_id
),

latest_emails as (
    select distinct on (cid, person_id)
        cid,
        person_id,
        email
    from person_records
    where email is not null
    order by cid, person_id, seen_at desc, source_record_id
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
        {{ contact_role('t.title') }} as role,
        {{ title_has_role('t.title', 'rd_contact') }} as is_rd_contact,
        ph.phone,
        e.email,
        s.sources,
        s.record_count,
        s.first_seen_at,
        s.last_seen_at
    from summary as s
    left join names_ranked as n on s.cid = n.cid and s.person_id = n.person_id
    left join latest_titles as t on s.cid = t.cid and s.person_id = t.person_id
    left join latest_phones as ph on s.cid = ph.cid and s.person_id = ph.person_id
    left join latest_emails as e on s.cid = e.cid and s.person_id = e.person_id
)

select * from final
