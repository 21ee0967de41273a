{#- CIDs retired by a merge and the CID that finally survives (a -> b -> c gives a -> c): the
    profile service answers a retired CID with a permanent redirect. Only CIDs no record carries
    any more; the latest merge of a CID wins. -#}
{{ config(post_hook="create unique index on {{ this }} (retired_cid)") }}

with recursive events as (
    select * from {{ ref('cid_events') }}
    where event_type = 'merge'
),

live as (
    select distinct cid from {{ ref('customer_ids') }}
),

latest_merges as (
    select distinct on (from_cid)
        from_cid,
        to_cid,
        event_at,
        reason
    from events
    where from_cid is not null and to_cid is not null and from_cid <> to_cid
    order by from_cid asc, event_at desc
),

chains as (
    select
        from_cid as retired_cid,
        to_cid as surviving_cid,
        event_at as retired_at,
        reason,
        1 as hops
    from latest_merges
    union all
    select
        c.retired_cid,
        m.to_cid as surviving_cid,
        c.retired_at,
        c.reason,
        c.hops + 1 as hops
    from chains as c
    inner join latest_merges as m on c.surviving_cid = m.from_cid
    where c.hops < 50
),

final as (
    select distinct on (c.retired_cid)
        c.retired_cid,
        c.surviving_cid,
        c.retired_at,
        c.reason
    from chains as c
    inner join live as l on c.surviving_cid = l.cid
    where c.retired_cid not in (select live_cids.cid from live as live_cids)
    order by c.retired_cid asc, c.hops desc
)

select * from final
