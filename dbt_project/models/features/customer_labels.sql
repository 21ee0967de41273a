{#- Outcome labels beside the features, never joined into scoring. Each label looks only
    after its as_of_date, at the latest known version of every record, and is null when the
    customer is not eligible or the window is not fully observed yet (see the YAML docs). The
    windows are var('label_horizon_days') and var('label_default_days_past_due'). -#}
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

next_defaults as (
    select
        w.cid,
        w.as_of_date,
        min(e.dpd90_at) as next_dpd90_at
    from windows as w
    left join dpd90_events as e
        on w.cid = e.cid and w.cutoff_at <= e.dpd90_at
    group by w.cid, w.as_of_date
),

final as (
    select
        w.cid,
        w.as_of_date,
        case
            when w.orders_365d = 0 or w.cutoff_at + interval '{{ horizons.churn_180d }} days' > w.known_until then null
            else coalesce(n.next_order_at >= w.cutoff_at + interval '{{ horizons.churn_180d }} days', true)
        end as churn_180d,
        case
            when w.invoices_365d = 0 or w.cutoff_at + interval '{{ horizons.default_90dpd_180d }} days' > w.known_until then null
            else coalesce(d.next_dpd90_at < w.cutoff_at + interval '{{ horizons.default_90dpd_180d }} days', false)
        end as default_90dpd_180d,
        case
            when w.cutoff_at + interval '{{ horizons.purchase_30d }} days' > w.known_until then null
            else coalesce(n.next_order_at < w.cutoff_at + interval '{{ horizons.purchase_30d }} days', false)
        end as purchase_30d
    from windows as w
    inner join next_orders as n
        on w.cid = n.cid and w.as_of_date = n.as_of_date
    inner join next_defaults as d
        on w.cid = d.cid and w.as_of_date = d.as_of_date
)

select * from final
