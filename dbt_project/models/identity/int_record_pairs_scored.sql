{#- Candidate pairs between deterministic entities, scored with Fellegi-Sunter weights
    (identity_match_levels seed). Candidates come from blocking keys shared by at most
    blocking.max_block_size distinct profiles; a profile is a distinct combination of the
    compared attributes within an entity, so repeated tickets or requests are compared once.
    One row per entity pair: its best-scoring profile pair. -#}
{{ config(pre_hook="create extension if not exists pg_trgm with schema public") }}
{%- set cfg = identity_config() -%}

with records as (
    select * from {{ ref('int_company_records_normalized') }}
),

entities as (
    select
        node_num as record_num,
        cluster_num as entity_num
    from {{ ref('int_records_linked') }}
),

profiles as (
    select
        min(r.record_num) as record_num,
        e.entity_num,
        r.name_norm,
        r.name_script,
        r.name_alt_norm,
        r.city,
        r.phone,
        r.email,
        r.email_company_domain,
        r.address_norm,
        r.contact_name,
        r.credit_code
    from records as r
    inner join entities as e on r.record_num = e.record_num
    group by
        e.entity_num, r.name_norm, r.name_script, r.name_alt_norm, r.city, r.phone, r.email,
        r.email_company_domain, r.address_norm, r.contact_name, r.credit_code
),

blocking_keys as (
    select record_num, entity_num, 'name_exact' as key_type, coalesce(name_norm, name_alt_norm) as key_value
    from profiles
    union all
    select record_num, entity_num, 'name_exact' as key_type, name_alt_norm as key_value
    from profiles
    union all
    select record_num, entity_num, 'name_prefix' as key_type, left(name_norm, case when name_script = 'cjk' then 2 else 5 end) as key_value
    from profiles
    union all
    select record_num, entity_num, 'name_prefix' as key_type, left(name_alt_norm, 5) as key_value
    from profiles
    union all
    select record_num, entity_num, 'name_suffix' as key_type, substr(name_norm, 2, 3) as key_value
    from profiles
    where name_script = 'cjk'
    union all
    select record_num, entity_num, 'name_suffix' as key_type, left(name_norm, 1) || substr(name_norm, 3, 2) as key_value
    from profiles
    where name_script = 'cjk'
    union all
    select record_num, entity_num, 'phone' as key_type, phone as key_value
    from profiles
    union all
    select record_num, entity_num, 'email_domain' as key_type, email_company_domain as key_value
    from profiles
    union all
    select record_num, entity_num, 'address' as key_type, left(address_norm, 8) as key_value
    from profiles
),

usable_keys as (
    select distinct
        record_num,
        entity_num,
        key_type,
        key_value
    from blocking_keys
    where
        key_type in ('{{ cfg.blocking['keys'] | join("', '") }}')
        and key_value is not null
        and length(key_value) >= 2
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
    inner join usable_keys as a on a.key_type = k.key_type and a.key_value = k.key_value
    inner join usable_keys as b on b.key_type = k.key_type and b.key_value = k.key_value
    where a.entity_num < b.entity_num
),

compared as (
    select
        a.entity_num as entity_num_a,
        b.entity_num as entity_num_b,
        a.record_num as record_num_a,
        b.record_num as record_num_b,
        greatest(
            case when a.name_script = b.name_script then similarity(a.name_norm, b.name_norm) end,
            case when b.name_alt_norm is not null and a.name_script = 'latin' then similarity(a.name_norm, b.name_alt_norm) end,
            case when a.name_alt_norm is not null and b.name_script = 'latin' then similarity(a.name_alt_norm, b.name_norm) end,
            similarity(a.name_alt_norm, b.name_alt_norm)
        ) as name_similarity,
        similarity(a.address_norm, b.address_norm) as address_similarity,
        case when a.city is not null and b.city is not null then case when a.city = b.city then 'same' else 'different' end end as city_level,
        case when a.phone is not null and b.phone is not null then case when a.phone = b.phone then 'same' else 'different' end end as phone_level,
        case
            when a.email is null or b.email is null then null
            when a.email = b.email then 'same_address'
            when a.email_company_domain = b.email_company_domain then 'same_company_domain'
            else 'different'
        end as email_level,
        case
            when a.contact_name is not null and b.contact_name is not null
                then case when a.contact_name = b.contact_name then 'same' else 'different' end
        end as contact_name_level,
        case
            when a.credit_code is not null and b.credit_code is not null
                then case when a.credit_code = b.credit_code then 'same' else 'different' end
        end as credit_code_level
    from candidates as c
    inner join profiles as a on c.record_num_a = a.record_num
    inner join profiles as b on c.record_num_b = b.record_num
),

leveled as (
    select
        *,
        {{ fs_similarity_level('name', 'name_similarity') }} as name_level,
        {{ fs_similarity_level('address', 'address_similarity') }} as address_level
    from compared
),

weighted as (
    select
        *,
        {{ fs_level_weight('name', 'name_level') }}
        + {{ fs_level_weight('city', 'city_level') }}
        + {{ fs_level_weight('phone', 'phone_level') }}
        + {{ fs_level_weight('email', 'email_level') }}
        + {{ fs_level_weight('address', 'address_level') }}
        + {{ fs_level_weight('contact_name', 'contact_name_level') }}
        + {{ fs_level_weight('credit_code', 'credit_code_level') }} as match_weight
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
        city_level,
        phone_level,
        email_level,
        address_level,
        contact_name_level,
        credit_code_level
    from weighted
    order by entity_num_a, entity_num_b, match_weight desc, record_num_a, record_num_b
)

select * from final
