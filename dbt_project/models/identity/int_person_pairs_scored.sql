{#- Candidate pairs between deterministic persons, scored with Fellegi-Sunter weights from
    identity_entities.person (dbt_project.yml). Candidates share a blocking key (same name,
    employer, phone or e-mail) held by at most blocking.max_block_size profiles; a profile is
    a distinct combination of the compared columns within a person. One row per person pair:
    its best-scoring profile pair. -#}
{{ config(pre_hook="create extension if not exists pg_trgm with schema public") }}
{%- set cfg = var('identity_entities').person -%}
{%- set cmp = cfg.comparisons -%}
{%- set wt = {} -%}
{%- for c, spec in cmp.items() -%}
    {%- for level, lv in spec.levels.items() -%}
        {%- do wt.update({c ~ '.' ~ level: 'log(2.0, ' ~ lv.m ~ '::numeric / ' ~ lv.u ~ ')'}) -%}
    {%- endfor -%}
{%- endfor %}

with records as (
    select * from {{ ref('int_person_records_normalized') }}
),

entities as (
    select
        node_num as record_num,
        cluster_num as entity_num
    from {{ ref('int_persons_linked') }}
),

profiles as (
    select
        min(r.record_num) as record_num,
        e.entity_num,
        r.person_name_norm,
        r.phone,
        r.email,
        r.employer_cid,
        r.title
    from records as r
    inner join entities as e on r.record_num = e.record_num
    group by e.entity_num, r.person_name_norm, r.phone, r.email, r.employer_cid, r.title
),

blocking_keys as (
    select record_num, entity_num, 'name_exact' as key_type, person_name_norm as key_value from profiles
    union all
    select record_num, entity_num, 'employer' as key_type, employer_cid as key_value from profiles
    union all
    select record_num, entity_num, 'phone' as key_type, phone as key_value from profiles
    union all
    select record_num, entity_num, 'email' as key_type, email as key_value from profiles
),

usable_keys as (
    select distinct
        record_num,
        entity_num,
        key_type,
        key_value
    from blocking_keys
    where key_type in ('{{ cfg.blocking["keys"] | join("', '") }}') and key_value is not null
),

block_sizes as (
    select
        key_type,
        key_value
    from usable_keys
    group by key_type, key_value
    having count(*) between 2 and {{ cfg.blocking.max_block_size }}
),

candidates as (
    select distinct
        a.record_num as record_num_a,
        b.record_num as record_num_b
    from block_sizes as k
    inner join usable_keys as a on k.key_type = a.key_type and k.key_value = a.key_value
    inner join usable_keys as b on k.key_type = b.key_type and k.key_value = b.key_value
    where a.entity_num < b.entity_num
),

-- share of persons carrying each phone / e-mail (term-frequency adjustment of `same`)
tf_phone as (
    select
        phone as value,
        count(distinct entity_num)::float8 / (select count(distinct p.entity_num) from profiles as p) as frequency
    from profiles
    where phone is not null
    group by phone
),

tf_email as (
    select
        email as value,
        count(distinct entity_num)::float8 / (select count(distinct p.entity_num) from profiles as p) as frequency
    from profiles
    where email is not null
    group by email
),

compared as (
    select
        a.entity_num as entity_num_a,
        b.entity_num as entity_num_b,
        a.record_num as record_num_a,
        b.record_num as record_num_b,
        similarity(a.person_name_norm, b.person_name_norm) as name_similarity,
        case when a.phone is not null and b.phone is not null then case when a.phone = b.phone then 'same' else 'different' end end as phone_level,
        tp.frequency as phone_frequency,
        case when a.email is not null and b.email is not null then case when a.email = b.email then 'same' else 'different' end end as email_level,
        te.frequency as email_frequency,
        case when a.employer_cid is not null and b.employer_cid is not null then case when a.employer_cid = b.employer_cid then 'same' else 'different' end end as employer_level,
        case when a.title is not null and b.title is not null then case when a.title = b.title then 'same' else 'different' end end as title_level
    from candidates as c
    inner join profiles as a on c.record_num_a = a.record_num
    inner join profiles as b on c.record_num_b = b.record_num
    left join tf_phone as tp on a.phone = b.phone and a.phone = tp.value
    left join tf_email as te on a.email = b.email and a.email = te.value
),

leveled as (
    select
        *,
        case
            {%- for name, level in cmp.name.levels.items() | sort(attribute='1.min_similarity', reverse=true) %}
            when name_similarity >= {{ level.min_similarity }} then '{{ name }}'
            {%- endfor %}
        end as name_level
    from compared
),

weighted as (
    select
        *,
        case name_level
            {%- for name in cmp.name.levels %}
            when '{{ name }}' then {{ wt['name.' ~ name] }}
            {%- endfor %}
            else 0
        end
        {%- for c in ['phone', 'email'] %}
        + case {{ c }}_level
            when 'same' then log(2.0, {{ cmp[c].levels.same.m }}::numeric / greatest({{ cmp[c].levels.same.u }}::numeric, coalesce({{ c }}_frequency, 0)::numeric))
            when 'different' then {{ wt[c ~ '.different'] }}
            else 0
        end
        {%- endfor %}
        {%- for c in ['employer', 'title'] %}
        + case {{ c }}_level when 'same' then {{ wt[c ~ '.same'] }} when 'different' then {{ wt[c ~ '.different'] }} else 0 end
        {%- endfor %} as match_weight
    from leveled
),

final as (
    select distinct on (entity_num_a, entity_num_b)
        entity_num_a,
        entity_num_b,
        record_num_a,
        record_num_b,
        round(match_weight::numeric, 3) as match_weight,
        match_weight >= {{ cfg.match_threshold }} as is_above_threshold,
        round(name_similarity::numeric, 3) as name_similarity,
        name_level,
        phone_level,
        round(phone_frequency::numeric, 6) as phone_frequency,
        email_level,
        round(email_frequency::numeric, 6) as email_frequency,
        employer_level,
        title_level
    from weighted
    order by entity_num_a, entity_num_b, match_weight desc, record_num_a, record_num_b
)

select * from final
