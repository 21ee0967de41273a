{#- The source-system records behind each CID (which CRM account, ERP code, registry entry, lab
    request or ticket it was resolved from): the profile's "source IDs". -#}
{{ config(post_hook="create index on {{ this }} (cid)") }}

with customer_ids as (
    select * from {{ ref('customer_ids') }}
),

final as (
    select distinct
        cid,
        source_system,
        source_table,
        source_record_id
    from customer_ids
)

select * from final
