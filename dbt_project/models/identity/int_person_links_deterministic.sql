{#- Deterministic person links: records with the same e-mail address, or the same mobile at the
    same employer (CID), are the same person. A shared value links nothing: an e-mail or
    mobile written with two different names, or an e-mail seen at two customers (a
    purchasing agency's mailbox that callers without names write). Such records are scored
    instead, where term-frequency adjustment weakens the common value. Each value becomes a star (every
    record to the first record with it), so links grow linearly with the records. -#}
with records as (
    select * from {{ ref('int_person_records_normalized') }}
),

keys as (
    select
        record_num,
        person_name_norm,
        employer_cid,
        'email_address' as rule,
        email as identifier,
        email as key_value
    from records
    where email is not null

    union all

    select
        record_num,
        person_name_norm,
        employer_cid,
        'mobile_at_employer' as rule,
        phone as identifier,
        employer_cid || ':' || phone as key_value
    from records
    where phone_kind = 'mobile' and employer_cid is not null
),

-- an identifier written with two names (or an e-mail seen at two customers) is shared
shared_identifiers as (
    select
        rule,
        identifier
    from keys
    group by rule, identifier
    having
        count(distinct person_name_norm) > 1
        or (rule = 'email_address' and count(distinct employer_cid) > 1)
),

unambiguous_keys as (
    select distinct
        k.rule,
        k.key_value
    from keys as k
    where not exists (
        select 1 from shared_identifiers as s
        where k.rule = s.rule and k.identifier = s.identifier
    )
),

stars as (
    select
        k.record_num,
        k.rule,
        min(k.record_num) over (partition by k.rule, k.key_value) as hub_record_num
    from keys as k
    inner join unambiguous_keys as u on k.rule = u.rule and k.key_value = u.key_value
),

final as (
    select distinct
        hub_record_num as record_num_a,
        record_num as record_num_b,
        rule
    from stars
    where record_num <> hub_record_num
)

select * from final
