{#- Every customer record of every entity source and its CID (from the persistent registry):
    CRM accounts, ERP customer codes, lab sample requests, service tickets, projects and
    registry companies. Features join here on (source_system, source_record_id). -#}
with registry as (
    select * from {{ ref('cid_registry') }}
),

final as (
    select
        source_system,
        source_record_id,
        cid,
        source_table,
        cid_assigned_at
    from registry
)

select * from final
