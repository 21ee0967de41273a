{{ config(post_hook="create index on {{ this }} (cid)") }}
{#- The buying centre as analysts and people roles read it: marts_restricted.customer_contacts
    with every personal column masked (macros/governance/mask.sql). Masks are deterministic, so
    counts and joins still hold; person_id stays the key. -#}
with contacts as (
    select * from {{ ref('customer_contacts_clear') }}
),

final as (
    select
        cid,
        person_id,
        {{ mask_name('person_name') }} as person_name,
        title,
        role,
        is_rd_contact,
        {{ mask_phone('phone') }} as phone,
        {{ mask_email('email') }} as email,
        sources,
        record_count,
        first_seen_at,
        last_seen_at
    from contacts
)

select * from final
