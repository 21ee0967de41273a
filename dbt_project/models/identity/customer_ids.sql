{#- Walking skeleton of the CID registry: one CID per ERP customer code, derived from the
    code so it is stable across runs. The identity issue replaces this with matching across
    every source and an incremental registry with merge/split events. -#}
with erp_customers as (
    select distinct customer_code from {{ ref('stg_erp__orders') }}
    union
    select distinct customer_code from {{ ref('stg_erp__customers') }}
),

final as (
    select
        'erp' as source_system,
        customer_code as source_record_id,
        'CID' || upper(left(md5('erp:' || customer_code), 12)) as cid
    from erp_customers
)

select * from final
