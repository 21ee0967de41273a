{{
    config(
        materialized='incremental',
        unique_key='as_of_date',
        incremental_strategy='delete+insert',
        indexes=[{'columns': ['as_of_date', 'cid'], 'unique': true}],
    )
}}
{#- Point-in-time customer snapshots: one row per (cid, as_of_date) for every month-end with
    loaded data, plus var('as_of_date') when it is not a month-end. A row uses only record
    versions known at its cutoff (midnight after as_of_date, business time) describing events
    before it. Incremental: new dates are added; an existing date is recomputed when it is the
    requested as_of_date or when a batch loaded since the last build (a correction re-delivered
    under its batch id) changed what was known at its cutoff (macros/incremental_dates.sql).
    An empty or unknown order status is a live order (stg_erp__orders.is_cancelled). The ERP families (value, rhythm, mix, payment) are computed
    here; the samples/lab, engagement, service, cooperation and firmographics families come
    from their own int_customer_* models under the same rules and dates. -#}

with orders as (
    select * from {{ ref('stg_erp__orders') }}
),

order_lines as (
    select * from {{ ref('stg_erp__order_lines') }}
),

invoices as (
    select * from {{ ref('stg_erp__invoices') }}
),

payments as (
    select * from {{ ref('stg_erp__payments') }}
),

erp_customers as (
    select * from {{ ref('stg_erp__customers') }}
),

materials as (
    select * from {{ ref('stg_catalog__materials') }}
    where superseded_at is null
),

customer_ids as (
    select * from {{ ref('customer_ids') }}
    where source_system = 'erp'
),

sample_features as (
    select * from {{ ref('int_customer_samples_summarized') }}
),

engagement_features as (
    select * from {{ ref('int_customer_engagement_summarized') }}
),

service_features as (
    select * from {{ ref('int_customer_service_summarized') }}
),

text_features as (
    select * from {{ ref('int_customer_texts_summarized') }}
),

project_features as (
    select * from {{ ref('int_customer_projects_summarized') }}
),

firmographics as (
    select * from {{ ref('int_customer_firmographics_resolved') }}
),

as_of_dates as (
    {{ feature_dates_to_build() }}
),

-- every order version known at each cutoff, placed in the 730 days before it
orders_known as (
    select
        d.as_of_date,
        d.cutoff_at,
        ids.cid,
        o.order_id,
        o.ordered_at,
        o.is_cancelled,
        o.change_count,
        o.order_amount_cny
    from as_of_dates as d
    inner join orders as o
        on
            d.cutoff_at > o.ordered_at
            and o.ordered_at >= d.cutoff_at - interval '730 days'
            and {{ known_at_instant('d.cutoff_at', 'o') }}
    inner join customer_ids as ids
        on o.customer_code = ids.source_record_id
),

-- value and rhythm: recency, frequency, monetary, trend, order changes
order_features as (
    select
        cid,
        as_of_date,
        extract(day from max(cutoff_at) - max(ordered_at) filter (where not is_cancelled))::integer
            as days_since_last_order,
        extract(day from max(cutoff_at) - min(ordered_at) filter (where not is_cancelled))::integer
            as days_since_first_order_730d,
        count(*) filter (where not is_cancelled and ordered_at >= cutoff_at - interval '90 days')
            as orders_90d,
        count(*) filter (where not is_cancelled and ordered_at >= cutoff_at - interval '180 days')
            as orders_180d,
        count(*) filter (where not is_cancelled and ordered_at >= cutoff_at - interval '365 days')
            as orders_365d,
        count(*) filter (where not is_cancelled and ordered_at < cutoff_at - interval '365 days')
            as orders_prev_365d,
        coalesce(sum(order_amount_cny) filter (
            where not is_cancelled and ordered_at >= cutoff_at - interval '90 days'
        ), 0)::numeric(18, 2) as revenue_cny_90d,
        coalesce(sum(order_amount_cny) filter (
            where not is_cancelled and ordered_at >= cutoff_at - interval '180 days'
        ), 0)::numeric(18, 2) as revenue_cny_180d,
        coalesce(sum(order_amount_cny) filter (
            where not is_cancelled and ordered_at >= cutoff_at - interval '365 days'
        ), 0)::numeric(18, 2) as revenue_cny_365d,
        coalesce(sum(order_amount_cny) filter (
            where not is_cancelled and ordered_at >= cutoff_at - interval '180 days'
            and ordered_at < cutoff_at - interval '90 days'
        ), 0)::numeric(18, 2) as revenue_cny_prev_90d,
        avg(change_count::numeric) filter (where ordered_at >= cutoff_at - interval '365 days')
            as avg_order_changes_365d,
        avg(is_cancelled::integer::numeric) filter (
            where ordered_at >= cutoff_at - interval '365 days'
        ) as cancelled_order_share_365d
    from orders_known
    group by cid, as_of_date
),

order_gaps as (
    select
        cid,
        as_of_date,
        extract(epoch from ordered_at - lag(ordered_at) over (
            partition by cid, as_of_date order by ordered_at
        )) / 86400.0 as gap_days
    from orders_known
    where not is_cancelled and ordered_at >= cutoff_at - interval '365 days'
),

rhythm_features as (
    select
        cid,
        as_of_date,
        avg(gap_days) as avg_order_gap_days_365d,
        stddev_samp(gap_days) / nullif(avg(gap_days), 0) as order_gap_cv_365d
    from order_gaps
    where gap_days is not null
    group by cid, as_of_date
),

-- mix: material families, concentration, price paid against list
lines_known as (
    select
        ok.cid,
        ok.as_of_date,
        m.material_family,
        l.amount_cny,
        l.unit_price_cny / nullif(l.list_price_cny, 0) as price_to_list
    from orders_known as ok
    inner join order_lines as l
        on ok.order_id = l.order_id and {{ known_at_instant('ok.cutoff_at', 'l') }}
    left join materials as m
        on l.material_id = m.material_id
    where not ok.is_cancelled and ok.ordered_at >= ok.cutoff_at - interval '365 days'
),

family_amounts as (
    select
        cid,
        as_of_date,
        material_family,
        sum(amount_cny) as family_amount_cny
    from lines_known
    group by cid, as_of_date, material_family
),

mix_features as (
    select
        fa.cid,
        fa.as_of_date,
        count(*) as material_families_365d,
        max(fa.family_amount_cny) / nullif(sum(fa.family_amount_cny), 0) as top_family_share_365d,
        max(price.avg_price_to_list) as avg_price_to_list_365d
    from family_amounts as fa
    inner join (
        select
            cid,
            as_of_date,
            avg(price_to_list) as avg_price_to_list
        from lines_known
        group by cid, as_of_date
    ) as price
        on fa.cid = price.cid and fa.as_of_date = price.as_of_date
    group by fa.cid, fa.as_of_date
),

-- payment: lateness, overdue and open balances, credit-limit use
invoices_known as (
    select
        d.as_of_date,
        d.cutoff_at,
        ids.cid,
        i.invoice_id,
        i.issued_at,
        i.due_at,
        i.invoice_amount_cny
    from as_of_dates as d
    inner join invoices as i
        on
            d.cutoff_at > i.issued_at
            and i.issued_at >= d.cutoff_at - interval '730 days'
            and {{ known_at_instant('d.cutoff_at', 'i') }}
    inner join customer_ids as ids
        on i.customer_code = ids.source_record_id
),

paid_by_cutoff as (
    select
        ik.as_of_date,
        ik.invoice_id,
        sum(p.payment_amount_cny) as paid_cny,
        max(p.paid_at) as last_paid_at
    from invoices_known as ik
    inner join payments as p
        on
            ik.invoice_id = p.invoice_id
            and ik.cutoff_at > p.paid_at
            and {{ known_at_instant('ik.cutoff_at', 'p') }}
    group by ik.as_of_date, ik.invoice_id
),

invoice_status as (
    select
        ik.*,
        coalesce(pb.paid_cny, 0) as paid_cny,
        pb.last_paid_at,
        greatest(ik.invoice_amount_cny - coalesce(pb.paid_cny, 0), 0) as open_cny,
        -- days late: until full payment, or until the cutoff while still open
        greatest(
            extract(epoch from (
                case
                    when coalesce(pb.paid_cny, 0) >= ik.invoice_amount_cny - 0.01 then pb.last_paid_at
                    else ik.cutoff_at
                end
            ) - ik.due_at) / 86400.0,
            0
        ) as days_late
    from invoices_known as ik
    left join paid_by_cutoff as pb
        on ik.as_of_date = pb.as_of_date and ik.invoice_id = pb.invoice_id
),

payment_features as (
    select
        cid,
        as_of_date,
        count(*) filter (where issued_at >= cutoff_at - interval '365 days') as invoices_365d,
        avg(days_late) filter (where due_at < cutoff_at and due_at >= cutoff_at - interval '365 days')
            as avg_days_late_365d,
        max(days_late) filter (where due_at < cutoff_at and due_at >= cutoff_at - interval '365 days')
            as max_days_late_365d,
        avg(days_late) filter (where due_at < cutoff_at and due_at >= cutoff_at - interval '90 days')
            as avg_days_late_90d,
        avg((days_late > 0)::integer::numeric) filter (
            where due_at < cutoff_at and due_at >= cutoff_at - interval '365 days'
        ) as late_invoice_share_365d,
        coalesce(sum(open_cny) filter (where due_at < cutoff_at), 0)::numeric(18, 2) as overdue_balance_cny,
        coalesce(sum(open_cny), 0)::numeric(18, 2) as open_balance_cny,
        max(days_late) filter (where open_cny > 0) as oldest_open_days_late,
        -- the *_15d columns: more than 15 days late, beyond what customers in good health take
        {%- set late_days = 15 %}
        avg((days_late > {{ late_days }})::integer::numeric) filter (
            where due_at < cutoff_at and due_at >= cutoff_at - interval '90 days'
        ) as late_15d_share_90d,
        avg((days_late > {{ late_days }})::integer::numeric) filter (
            where due_at < cutoff_at and due_at >= cutoff_at - interval '365 days'
        ) as late_15d_share_365d,
        count(*) filter (where open_cny > 0 and days_late > {{ late_days }}) as overdue_15d_invoices,
        extract(day from max(cutoff_at) - max(last_paid_at))::integer as days_since_last_payment,
        (array_agg(days_late order by last_paid_at desc, invoice_id desc) filter (
            where open_cny = 0 and last_paid_at is not null
        ))[1] as last_paid_days_late
    from invoice_status
    group by cid, as_of_date
),

credit_limits as (
    select distinct on (d.as_of_date, ids.cid)
        d.as_of_date,
        ids.cid,
        c.credit_limit_cny
    from as_of_dates as d
    inner join erp_customers as c
        on {{ known_at_instant('d.cutoff_at', 'c') }}
    inner join customer_ids as ids
        on c.customer_code = ids.source_record_id
    order by d.as_of_date asc, ids.cid asc, c.credit_limit_cny desc nulls last
),

-- the customers known at each date: anyone with an order known by then
final as (
    select
        o.cid,
        o.as_of_date,
        o.days_since_last_order,
        o.days_since_first_order_730d,
        o.orders_90d,
        o.orders_180d,
        o.orders_365d,
        o.orders_prev_365d,
        o.revenue_cny_90d,
        o.revenue_cny_180d,
        o.revenue_cny_365d,
        o.revenue_cny_prev_90d,
        case
            when o.revenue_cny_prev_90d > 0 then round(o.revenue_cny_90d / o.revenue_cny_prev_90d, 4)
        end as revenue_trend_90d,
        round(o.avg_order_changes_365d, 4) as avg_order_changes_365d,
        round(o.cancelled_order_share_365d, 4) as cancelled_order_share_365d,
        round(r.avg_order_gap_days_365d::numeric, 2) as avg_order_gap_days_365d,
        round(r.order_gap_cv_365d::numeric, 4) as order_gap_cv_365d,
        coalesce(m.material_families_365d, 0) as material_families_365d,
        round(m.top_family_share_365d, 4) as top_family_share_365d,
        round(m.avg_price_to_list_365d, 4) as avg_price_to_list_365d,
        coalesce(p.invoices_365d, 0) as invoices_365d,
        round(p.avg_days_late_365d::numeric, 2) as avg_days_late_365d,
        round(p.max_days_late_365d::numeric, 2) as max_days_late_365d,
        round(p.avg_days_late_90d::numeric, 2) as avg_days_late_90d,
        round(p.late_invoice_share_365d, 4) as late_invoice_share_365d,
        coalesce(p.overdue_balance_cny, 0) as overdue_balance_cny,
        coalesce(p.open_balance_cny, 0) as open_balance_cny,
        round(p.oldest_open_days_late::numeric, 2) as oldest_open_days_late,
        round(p.late_15d_share_90d, 4) as late_15d_share_90d,
        round(p.late_15d_share_365d, 4) as late_15d_share_365d,
        coalesce(p.overdue_15d_invoices, 0) as overdue_15d_invoices,
        p.days_since_last_payment,
        round(p.last_paid_days_late::numeric, 2) as last_paid_days_late,
        round(coalesce(p.open_balance_cny, 0) / nullif(cl.credit_limit_cny, 0), 4) as credit_limit_use,
        -- samples and lab
        coalesce(s.sample_requests_30d, 0) as sample_requests_30d,
        coalesce(s.sample_requests_90d, 0) as sample_requests_90d,
        coalesce(s.qualification_samples_90d, 0) as qualification_samples_90d,
        coalesce(s.sample_requests_365d, 0) as sample_requests_365d,
        s.sample_conversion_365d,
        coalesce(s.samples_matured_365d, 0) as samples_matured_365d,
        coalesce(s.samples_converted_365d, 0) as samples_converted_365d,
        s.avg_sample_feedback_days_365d,
        s.sample_pass_rate_365d,
        s.tight_spec_share_365d,
        -- engagement
        e.days_since_last_contact,
        coalesce(e.interactions_365d, 0) as interactions_365d,
        {%- for channel in ['visit', 'phone', 'wechat', 'email', 'exhibition', 'online_meeting'] %}
            coalesce(e.{{ channel }}_interactions_365d, 0) as {{ channel }}_interactions_365d,
        {%- endfor %}
        coalesce(e.customer_initiated_inquiries_90d, 0) as customer_initiated_inquiries_90d,
        e.inbound_share_365d,
        e.avg_contact_gap_days_90d,
        e.avg_contact_gap_days_365d,
        e.contact_gap_trend,
        coalesce(e.crm_contacts, 0) as crm_contacts,
        e.rd_contact_share,
        -- service
        coalesce(sv.tickets_365d, 0) as tickets_365d,
        coalesce(sv.tickets_90d, 0) as tickets_90d,
        {%- for category in ['quality', 'delivery', 'technical', 'return', 'replacement', 'billing', 'consultation'] %}
            coalesce(sv.{{ category }}_tickets_365d, 0) as {{ category }}_tickets_365d,
        {%- endfor %}
        coalesce(sv.high_severity_tickets_365d, 0) as high_severity_tickets_365d,
        coalesce(sv.critical_tickets_365d, 0) as critical_tickets_365d,
        coalesce(sv.complaint_tickets_365d, 0) as complaint_tickets_365d,
        sv.avg_satisfaction_365d,
        sv.avg_satisfaction_90d,
        sv.satisfaction_trend_90d,
        -- technical rejections: failed sample tests (lab) and quality complaints on deliveries (service)
        coalesce(s.failed_sample_tests_365d, 0) + coalesce(sv.quality_tickets_365d, 0) as technical_rejections_365d,
        -- cooperation
        coalesce(pj.active_projects, 0) as active_projects,
        coalesce(pj.active_codev_projects, 0) as active_codev_projects,
        coalesce(pj.active_trial_projects, 0) as active_trial_projects,
        pj.days_since_trial_completed,
        pj.days_since_trial_cancelled,
        coalesce(pj.joint_projects_365d, 0) as joint_projects_365d,
        coalesce(pj.new_projects_365d, 0) as new_projects_365d,
        pj.new_project_share_365d,
        pj.new_project_share_prev_365d,
        -- text family (texts/, docs/text.md): what the customer wrote in the last 365 days
        coalesce(tx.text_documents_365d, 0) as text_documents_365d,
        coalesce(tx.text_usable_documents_365d, 0) as text_usable_documents_365d,
        coalesce(tx.text_requirements_365d, 0) as text_requirements_365d,
        {%- for topic in var('text_topic_codes') %}
            coalesce(tx.text_{{ topic }}_365d, 0) as text_{{ topic }}_365d,
        {%- endfor %}
        coalesce(tx.text_complaints_365d, 0) as text_complaints_365d,
        -- firmographics
        fg.customer_type,
        fg.industry,
        fg.region,
        fg.company_age_years,
        fg.registered_capital_cny,
        fg.registry_status,
        fg.is_deregistered
    from order_features as o
    left join rhythm_features as r
        on o.cid = r.cid and o.as_of_date = r.as_of_date
    left join mix_features as m
        on o.cid = m.cid and o.as_of_date = m.as_of_date
    left join payment_features as p
        on o.cid = p.cid and o.as_of_date = p.as_of_date
    left join credit_limits as cl
        on o.cid = cl.cid and o.as_of_date = cl.as_of_date
    left join sample_features as s
        on o.cid = s.cid and o.as_of_date = s.as_of_date
    left join engagement_features as e
        on o.cid = e.cid and o.as_of_date = e.as_of_date
    left join service_features as sv
        on o.cid = sv.cid and o.as_of_date = sv.as_of_date
    left join project_features as pj
        on o.cid = pj.cid and o.as_of_date = pj.as_of_date
    left join text_features as tx
        on o.cid = tx.cid and o.as_of_date = tx.as_of_date
    left join firmographics as fg
        on o.cid = fg.cid and o.as_of_date = fg.as_of_date
)

select * from final
