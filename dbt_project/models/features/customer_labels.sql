{#- Outcome labels beside the features, never joined into scoring. Each label looks only
    after its as_of_date, at the latest known version of every order, and is null when the
    customer is not eligible or the window is not fully observed yet (see the YAML docs). -#}

with features as (
    select cid, as_of_date, orders_365d from {{ ref('customer_features') }}
),

orders as (
    select o.ordered_at, ids.cid
    from {{ ref('stg_erp__orders') }} as o
    inner join {{ ref('customer_ids') }} as ids
        on ids.source_system = 'erp' and o.customer_code = ids.source_record_id
    where o.superseded_at is null and o.order_status <> 'cancelled'
),

horizon as (
    select max(known_at) as known_until from {{ ref('stg_erp__orders') }}
),

windows as (
    select
        f.cid,
        f.as_of_date,
        f.orders_365d,
        {{ as_of_cutoff('f.as_of_date') }} as cutoff_at,
        h.known_until
    from features as f
    cross join horizon as h
),

next_orders as (
    select
        w.cid,
        w.as_of_date,
        min(o.ordered_at) as next_order_at
    from windows as w
    left join orders as o
        on w.cid = o.cid and w.cutoff_at <= o.ordered_at
    group by w.cid, w.as_of_date
),

final as (
    select
        w.cid,
        w.as_of_date,
        case
            when w.orders_365d = 0 or w.cutoff_at + interval '180 days' > w.known_until then null
            else coalesce(n.next_order_at >= w.cutoff_at + interval '180 days', true)
        end as churn_180d,
        case
            when w.cutoff_at + interval '30 days' > w.known_until then null
            else coalesce(n.next_order_at < w.cutoff_at + interval '30 days', false)
        end as purchase_30d
    from windows as w
    inner join next_orders as n
        on w.cid = n.cid and w.as_of_date = n.as_of_date
)

select * from final
