{#- The CID registry: (source_system, source_record_id) -> CID, kept across runs (incremental,
    never rebuilt: full_refresh is off). Each run assigns this run's customers (int_entity_clusters)
    to CIDs: a customer holding records with existing CIDs keeps the oldest of them (the others
    are merged into it); a CID split by a reviewer's non_match stays with the part holding most
    of its records; a customer without any gets a new CID. Clusters are recomputed from the
    evidence every run (unless identity_keep_previous_clusters), so a changed setting or a
    guard can split a CID: logged like a merge. Only new and changed rows are written; previous_cid / change_kind / cid_changed_at say what changed (cid_events logs it). -#}
{{ config(
    materialized='incremental',
    unique_key=['source_system', 'source_record_id'],
    incremental_strategy='delete+insert',
    full_refresh=false,
    on_schema_change='append_new_columns'
) }}

with records as (
    select * from {{ ref('int_company_records_normalized') }}
    where is_customer_record
),

linked as (
    select * from {{ ref('int_records_linked') }}
),

clusters as (
    select * from {{ ref('int_entity_clusters') }}
),

previous as (
    {%- if is_incremental() %}
        select * from {{ this }}
    {%- else %}
    select
        null::text as source_system,
        null::text as source_record_id,
        null::text as cid,
        null::timestamptz as cid_assigned_at
    where false
    {%- endif %}
),

assigned as (
    select
        r.source_system,
        r.source_table,
        r.source_record_id,
        r.first_known_at,
        c.cluster_num,
        p.cid as previous_cid,
        p.cid_assigned_at as previous_cid_assigned_at
    from records as r
    inner join linked as l on r.record_num = l.node_num
    inner join clusters as c on l.cluster_num = c.entity_num
    left join previous as p on r.source_system = p.source_system and r.source_record_id = p.source_record_id
),

cluster_cids as (
    select
        cluster_num,
        previous_cid as cid,
        min(previous_cid_assigned_at) as cid_assigned_at,
        count(*) as records_holding
    from assigned
    where previous_cid is not null
    group by cluster_num, previous_cid
),

cid_owners as (
    -- a CID present in several customers (a split) stays with the one holding most of it
    select distinct on (cid)
        cid,
        cluster_num
    from cluster_cids
    order by cid asc, records_holding desc, cluster_num asc
),

survivors as (
    -- of the CIDs a customer holds, the oldest survives
    select distinct on (cc.cluster_num)
        cc.cluster_num,
        cc.cid,
        cc.cid_assigned_at
    from cluster_cids as cc
    inner join cid_owners as o on cc.cid = o.cid and cc.cluster_num = o.cluster_num
    order by cc.cluster_num, cc.cid_assigned_at, cc.cid
),

new_cids as (
    select
        a.cluster_num,
        'CID' || upper(left(md5(
            case
                when
                    exists (
                        select 1 from previous as p
                        where p.cid = 'CID' || upper(left(md5(min(a.source_system || ':' || a.source_record_id)), 12))
                    )
                    then min(a.source_system || ':' || a.source_record_id) || '@' || {{ identity_run_at() }}::text
                else min(a.source_system || ':' || a.source_record_id)
            end
        ), 12)) as cid
    from assigned as a
    where
        not exists (
            select 1 from survivors as s
            where s.cluster_num = a.cluster_num
        )
    group by a.cluster_num
),

resolved as (
    select
        a.source_system,
        a.source_table,
        a.source_record_id,
        a.first_known_at,
        a.previous_cid,
        coalesce(s.cid, n.cid) as cid,
        case
            when a.previous_cid = coalesce(s.cid, n.cid) then a.previous_cid_assigned_at
            when s.cid is not null then s.cid_assigned_at
            else {{ identity_run_at() }}
        end as cid_assigned_at,
        case
            when a.previous_cid is null then 'new'
            when a.previous_cid = coalesce(s.cid, n.cid) then null
            when exists (
                select 1 from cid_owners as o
                where o.cid = a.previous_cid and o.cluster_num <> a.cluster_num
            ) then 'split'
            else 'merge'
        end as change_kind
    from assigned as a
    left join survivors as s on a.cluster_num = s.cluster_num
    left join new_cids as n on a.cluster_num = n.cluster_num
),

final as (
    select
        source_system,
        source_table,
        source_record_id,
        cid,
        cid_assigned_at,
        previous_cid,
        change_kind,
        case change_kind
            when 'new' then 'first seen'
            when 'merge' then 'customer joined an older CID (the evidence or the identity settings now link them)'
            when 'split' then 'the record left its CID (a reviewer''s non_match, a guard, changed evidence or identity settings)'
        end as change_reason,
        '{{ identity_config_fingerprint() }}'::text as settings_fingerprint,
        {{ identity_run_at() }} as cid_changed_at,
        first_known_at
    from resolved
    where change_kind is not null
)

select * from final
