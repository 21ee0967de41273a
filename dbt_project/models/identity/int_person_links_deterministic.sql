{#- Deterministic person links: records with the same e-mail address, or the same mobile at the
    same employer (CID), are the same person. A value written with two different names (a
    shared mailbox, a switchboard typed as a mobile) is no link: such records are scored
    instead. Each value becomes a star (every record to the first record with it), so links
    grow linearly with the records. -#}
with records as (
    select * from {{ ref('int_person_records_normalized') }}
),

keys as (
    select
        record_num,
        person_name_norm,
        'email_address' as rule,
        email as key_value
    from records
    where email is not null

    union all

    select
        record_num,
        person_name_norm,
        'mobile_at_employer' as rule,
        employer_cid || ':' || phone as key_value
    from records
    where phone_kind = 'mobile' and employer_cid is not null
),

unambiguous_keys as (
    select
        rule,
        key_value
    from keys
    group by rule, key_value
    having count(distinct person_name_norm) <= 1
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
