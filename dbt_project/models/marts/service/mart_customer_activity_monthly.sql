{#- Each customer's behaviour by calendar month (the profile's curves): orders and their value
    (ERP, current order versions, cancelled orders left out), sample requests (lab) and tickets
    (service; complaints = quality, delivery, return and replacement tickets, as the features
    count them). One row per (cid, month) with any activity. -#}
{{ config(post_hook="create index on {{ this }} (cid, month)") }}

with orders as (
    select * from {{ ref('stg_erp__orders') }}
    where superseded_at is null and not coalesce(is_cancelled, false)
),

sample_requests as (
    select * from {{ ref('stg_lab__sample_requests') }}
    where superseded_at is null
),

tickets as (
    select * from {{ ref('stg_service__tickets') }}
    where superseded_at is null
),

customer_ids as (
    select * from {{ ref('customer_ids') }}
),

events as (
    select
        ids.cid,
        date_trunc('month', o.ordered_at)::date as month,
        1 as orders,
        o.order_amount_cny as revenue_cny,
        0 as sample_requests,
        0 as tickets,
        0 as complaints
    from orders as o
    inner join customer_ids as ids
        on
            ids.source_system = 'erp' and ids.source_table = 'customers'
            and o.customer_code = ids.source_record_id
    union all
    select
        ids.cid,
        date_trunc('month', r.requested_at)::date as month,
        0 as orders,
        0 as revenue_cny,
        1 as sample_requests,
        0 as tickets,
        0 as complaints
    from sample_requests as r
    inner join customer_ids as ids
        on
            ids.source_system = 'lab' and ids.source_table = 'sample_requests'
            and r.request_id = ids.source_record_id
    union all
    select
        ids.cid,
        date_trunc('month', t.opened_at)::date as month,
        0 as orders,
        0 as revenue_cny,
        0 as sample_requests,
        1 as tickets,
        case when t.ticket_category in ('quality', 'delivery', 'return', 'replacement') then 1 else 0 end as complaints
    from tickets as t
    inner join customer_ids as ids
        on
            ids.source_system = 'service' and ids.source_table = 'tickets'
            and t.ticket_id = ids.source_record_id
),

final as (
    select
        cid,
        month,
        sum(orders)::integer as orders,
        coalesce(sum(revenue_cny), 0)::numeric(18, 2) as revenue_cny,
        sum(sample_requests)::integer as sample_requests,
        sum(tickets)::integer as tickets,
        sum(complaints)::integer as complaints
    from events
    where month is not null
    group by cid, month
)

select * from final
