{{
    config(
        materialized='incremental',
        unique_key='as_of_date',
        incremental_strategy='delete+insert',
    )
}}
{#- Service family, one row per (cid, as_of_date) with a ticket opened in the 365 days before
    the cutoff: tickets by category and severity, complaints, returns and replacements, and the
    customer's satisfaction (last 90 days against the year). Point in time: ticket versions
    known at the cutoff, so a satisfaction survey counts from the batch that delivered it. -#}

with as_of_dates as (
    {{ feature_dates_to_build() }}
),

tickets as (
    select * from {{ ref('stg_service__tickets') }}
),

ticket_ids as (
    select * from {{ ref('customer_ids') }}
    where source_system = 'service' and source_table = 'tickets'
),

tickets_known as (
    select
        d.as_of_date,
        d.cutoff_at,
        ids.cid,
        t.ticket_category,
        t.ticket_severity,
        t.opened_at,
        t.satisfaction
    from as_of_dates as d
    inner join tickets as t
        on
            d.cutoff_at > t.opened_at
            and t.opened_at >= d.cutoff_at - interval '365 days'
            and {{ known_at_instant('d.cutoff_at', 't') }}
    inner join ticket_ids as ids
        on t.ticket_id = ids.source_record_id
),

final as (
    select
        cid,
        as_of_date,
        count(*) as tickets_365d,
        count(*) filter (where opened_at >= cutoff_at - interval '90 days') as tickets_90d,
        {%- for category in ['quality', 'delivery', 'technical', 'return', 'replacement', 'billing', 'consultation'] %}
            count(*) filter (where ticket_category = '{{ category }}') as {{ category }}_tickets_365d,
        {%- endfor %}
        count(*) filter (where ticket_severity in ('high', 'critical')) as high_severity_tickets_365d,
        count(*) filter (where ticket_severity = 'critical') as critical_tickets_365d,
        -- something went wrong with a product or its delivery (not questions or invoices)
        count(*) filter (
            where ticket_category in ('quality', 'delivery', 'return', 'replacement')
        ) as complaint_tickets_365d,
        round(avg(satisfaction::numeric), 2) as avg_satisfaction_365d,
        round(avg(satisfaction::numeric) filter (where opened_at >= cutoff_at - interval '90 days'), 2)
            as avg_satisfaction_90d,
        round(
            avg(satisfaction::numeric) filter (where opened_at >= cutoff_at - interval '90 days')
            - avg(satisfaction::numeric),
            2
        ) as satisfaction_trend_90d
    from tickets_known
    group by cid, as_of_date
)

select * from final
