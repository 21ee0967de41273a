{#- Outcome labels beside the features, never joined into scoring. Each label looks only
    after its as_of_date, at the latest known version of every record, and is null when the
    customer is not eligible or the window is not fully observed yet (see the YAML docs). The
    windows are var('label_horizon_days') and var('label_default_days_past_due'). -#}
{#- The tables it reads were built moments before: without their statistics the planner
    misjudged the joins (5 min instead of 1 s on a 1,000-company orders-only world), so they
    are analysed first (ANALYZE runs inside the model's transaction). -#}
{{ config(pre_hook=[
    "analyze {{ ref('customer_features') }}",
    "analyze {{ ref('customer_ids') }}",
]) }}
{%- set horizons = var('label_horizon_days') %}
{%- set days_past_due = var('label_default_days_past_due') %}

with features as (
    select
        cid,
        as_of_date,
        orders_365d,
        invoices_365d
    from {{ ref('customer_features') }}
    -- only live CIDs: an old snapshot row may carry a CID retired by a merge since (its
    -- events now resolve to the survivor), and would otherwise look like a customer who
    -- never ordered again
    where cid in (select ids.cid from {{ ref('customer_ids') }} as ids)
),

customer_ids as (
    select * from {{ ref('customer_ids') }}
    where source_system = 'erp'
),

orders as (
    select
        o.ordered_at,
        ids.cid
    from {{ ref('stg_erp__orders') }} as o
    inner join customer_ids as ids
        on o.customer_code = ids.source_record_id
    where o.superseded_at is null and not o.is_cancelled
),

invoices as (
    select
        i.invoice_id,
        i.due_at,
        i.invoice_amount_cny,
        ids.cid
    from {{ ref('stg_erp__invoices') }} as i
    inner join customer_ids as ids
        on i.customer_code = ids.source_record_id
    where i.superseded_at is null
),

payments as (
    select * from {{ ref('stg_erp__payments') }}
    where superseded_at is null
),

-- when each invoice was fully paid: the payment that brings the running total to its amount
payment_progress as (
    select
        p.invoice_id,
        p.paid_at,
        sum(p.payment_amount_cny) over (
            partition by p.invoice_id order by p.paid_at, p.payment_id
        ) as paid_so_far_cny
    from payments as p
),

invoices_settled as (
    select
        i.cid,
        i.invoice_id,
        i.due_at,
        min(pp.paid_at) filter (where pp.paid_so_far_cny >= i.invoice_amount_cny - 0.01) as fully_paid_at
    from invoices as i
    left join payment_progress as pp
        on i.invoice_id = pp.invoice_id
    group by i.cid, i.invoice_id, i.due_at
),

-- the instant an invoice became 90 days past due (null if paid before that)
dpd90_events as (
    select
        cid,
        due_at + interval '{{ days_past_due }} days' as dpd90_at
    from invoices_settled
    where fully_paid_at is null or fully_paid_at > due_at + interval '{{ days_past_due }} days'
),

horizon as (
    select max(known_at) as known_until from {{ ref('stg_erp__orders') }}
),

windows as (
    select
        f.cid,
        f.as_of_date,
        f.orders_365d,
        f.invoices_365d,
        {{ as_of_cutoff('f.as_of_date') }} as cutoff_at,
        h.known_until
    from features as f
    cross join horizon as h
),

-- the next order and the next 90-dpd event at or after each cutoff, in one sort per customer:
-- window rows and events newest first, each window row taking the running minimum of the
-- events before it in that order (events first on a tie: an order at the cutoff counts). A
-- running aggregate from the partition's start is incremental, so this is linear in rows; a
-- range join of windows to events nests a loop per customer.
timeline as (
    select
        cid,
        as_of_date,
        cutoff_at as event_at,
        0 as is_event,
        null::timestamptz as ordered_at,
        null::timestamptz as dpd90_at,
        orders_365d,
        invoices_365d,
        cutoff_at,
        known_until
    from windows
    union all
    select
        cid,
        null::date as as_of_date,
        ordered_at as event_at,
        1 as is_event,
        ordered_at,
        null::timestamptz as dpd90_at,
        null::bigint as orders_365d,
        null::bigint as invoices_365d,
        null::timestamptz as cutoff_at,
        null::timestamptz as known_until
    from orders
    union all
    select
        cid,
        null::date as as_of_date,
        dpd90_at as event_at,
        1 as is_event,
        null::timestamptz as ordered_at,
        dpd90_at,
        null::bigint as orders_365d,
        null::bigint as invoices_365d,
        null::timestamptz as cutoff_at,
        null::timestamptz as known_until
    from dpd90_events
),

next_events as (
    select
        cid,
        as_of_date,
        is_event,
        orders_365d,
        invoices_365d,
        cutoff_at,
        known_until,
        min(ordered_at) over later as next_order_at,
        min(dpd90_at) over later as next_dpd90_at
    from timeline
    window later as (
        partition by cid order by event_at desc, is_event desc
        rows between unbounded preceding and current row
    )
),

final as (
    select
        w.cid,
        w.as_of_date,
        case
            when w.orders_365d = 0 or w.cutoff_at + interval '{{ horizons.churn_180d }} days' > w.known_until then null
            else coalesce(w.next_order_at >= w.cutoff_at + interval '{{ horizons.churn_180d }} days', true)
        end as churn_180d,
        case
            when w.invoices_365d = 0 or w.cutoff_at + interval '{{ horizons.default_90dpd_180d }} days' > w.known_until then null
            else coalesce(w.next_dpd90_at < w.cutoff_at + interval '{{ horizons.default_90dpd_180d }} days', false)
        end as default_90dpd_180d,
        case
            when w.cutoff_at + interval '{{ horizons.purchase_30d }} days' > w.known_until then null
            else coalesce(w.next_order_at < w.cutoff_at + interval '{{ horizons.purchase_30d }} days', false)
        end as purchase_30d
    from next_events as w
    where w.is_event = 0
)

select * from final
