{#- Each version of each customer's golden record as the warehouse learnt it: a row when a
    build finds a CID new, or its record (name, credit code, type, industry, province, city,
    owner) different from the version recorded last. Appended build by build (full_refresh is
    off: the versions are history no rebuild can recompute); a re-run that finds nothing
    different appends nothing. The "golden record changed" part of the service's /changes feed. -#}
{{ config(
    materialized='incremental',
    full_refresh=false,
    on_schema_change='append_new_columns',
    post_hook="create index if not exists mart_customer_record_versions_at on {{ this }} (recorded_at)"
) }}

with golden as (
    select
        d.cid,
        md5(row(
            d.customer_name, d.credit_code, p.customer_type, p.industry, p.region, d.city,
            d.owner_sales
        )::text) as record_hash
    from {{ ref('dim_customer') }} as d
    left join {{ ref('mart_customer_profile') }} as p on d.cid = p.cid
),

recorded as (
    -- the version recorded last for each CID (none on the first build)
    {%- if is_incremental() %}
        select distinct on (cid)
            cid,
            record_hash
        from {{ this }}
        order by cid asc, recorded_at desc
    {%- else %}
        select
            null::text as cid,
            null::text as record_hash
        where false
    {%- endif %}
),

final as (
    select
        g.cid::text as cid,
        g.record_hash::text as record_hash,
        (r.cid is null) as is_new_cid,
        now() as recorded_at
    from golden as g
    left join recorded as r on g.cid = r.cid
    where r.record_hash is distinct from g.record_hash
)

select * from final
