{{
    config(
        materialized='incremental',
        unique_key='as_of_date',
        incremental_strategy='delete+insert',
    )
}}
{#- Samples and lab family, one row per (cid, as_of_date) with a sample request in the 365 days
    before the cutoff: how much and how demanding the customer samples, how fast it tests, how
    often samples pass, and how often a sample turned into an order. Point in time like the ERP
    families: request, feedback and order versions known at the cutoff, events before it. -#}

with as_of_dates as (
    {{ feature_dates_to_build() }}
),

sample_requests as (
    select * from {{ ref('stg_lab__sample_requests') }}
),

test_feedback as (
    select * from {{ ref('stg_lab__test_feedback') }}
),

orders as (
    select * from {{ ref('stg_erp__orders') }}
),

lab_ids as (
    select * from {{ ref('customer_ids') }}
    where source_system = 'lab' and source_table = 'sample_requests'
),

erp_ids as (
    select * from {{ ref('customer_ids') }}
    where source_system = 'erp'
),

-- every request version known at each cutoff, placed in the 365 days before it
requests_known as (
    select
        d.as_of_date,
        d.cutoff_at,
        ids.cid,
        r.request_id,
        r.requested_at,
        case when r.shipped_at < d.cutoff_at then r.shipped_at end as shipped_at,
        r.spec_tolerance_pct,
        r.request_purpose
    from as_of_dates as d
    inner join sample_requests as r
        on
            d.cutoff_at > r.requested_at
            and r.requested_at >= d.cutoff_at - interval '365 days'
            and {{ known_at_instant('d.cutoff_at', 'r') }}
    inner join lab_ids as ids
        on r.request_id = ids.source_record_id
),

-- the customer's test result per request, as known at the cutoff (the latest feedback)
feedback_known as (
    select distinct on (rk.as_of_date, rk.request_id)
        rk.as_of_date,
        rk.request_id,
        f.received_at,
        f.test_result
    from requests_known as rk
    inner join test_feedback as f
        on
            rk.request_id = f.request_id
            and rk.cutoff_at > f.received_at
            and {{ known_at_instant('rk.cutoff_at', 'f') }}
    order by rk.as_of_date asc, rk.request_id asc, f.received_at desc, f.feedback_id desc
),

-- a request converts when the customer places an order in the 180 days after it (before the cutoff)
converted_requests as (
    select distinct
        rk.as_of_date,
        rk.request_id
    from requests_known as rk
    inner join erp_ids
        on rk.cid = erp_ids.cid
    inner join orders as o
        on
            erp_ids.source_record_id = o.customer_code
            and rk.requested_at <= o.ordered_at
            and o.ordered_at < least(rk.requested_at + interval '180 days', rk.cutoff_at)
            and not o.is_cancelled
            and {{ known_at_instant('rk.cutoff_at', 'o') }}
),

final as (
    select
        rk.cid,
        rk.as_of_date,
        count(*) filter (where rk.requested_at >= rk.cutoff_at - interval '30 days') as sample_requests_30d,
        count(*) filter (where rk.requested_at >= rk.cutoff_at - interval '90 days') as sample_requests_90d,
        count(*) filter (
            where rk.requested_at >= rk.cutoff_at - interval '90 days' and rk.request_purpose = 'qualification'
        ) as qualification_samples_90d,
        count(*) as sample_requests_365d,
        round(avg((cr.request_id is not null)::integer::numeric) filter (
            where rk.requested_at < rk.cutoff_at - interval '180 days'
        ), 4) as sample_conversion_365d,
        count(*) filter (where rk.requested_at < rk.cutoff_at - interval '180 days') as samples_matured_365d,
        count(cr.request_id) filter (where rk.requested_at < rk.cutoff_at - interval '180 days')
            as samples_converted_365d,
        round(avg(extract(epoch from fk.received_at - rk.shipped_at) / 86400.0)::numeric, 2)
            as avg_sample_feedback_days_365d,
        round(avg((fk.test_result = 'pass')::integer::numeric), 4) as sample_pass_rate_365d,
        count(*) filter (where fk.test_result = 'fail') as failed_sample_tests_365d,
        round(avg((rk.spec_tolerance_pct <= 2)::integer::numeric), 4) as tight_spec_share_365d
    from requests_known as rk
    left join feedback_known as fk
        on rk.as_of_date = fk.as_of_date and rk.request_id = fk.request_id
    left join converted_requests as cr
        on rk.as_of_date = cr.as_of_date and rk.request_id = cr.request_id
    group by rk.cid, rk.as_of_date
)

select * from final
