{{
    config(
        materialized='incremental',
        unique_key=['cid', 'as_of_date'],
        incremental_strategy='delete+insert',
    )
}}
{#- Point-in-time customer snapshots: one row per (cid, as_of_date) for every month-end with
    loaded data, plus var('as_of_date') when it is not a month-end. A row uses only order
    versions known at its cutoff (midnight after as_of_date, business time) and placed
    before it. Incremental: new dates are added; existing dates are only recomputed when
    they are the requested as_of_date. -#}

with orders as (
    select * from {{ ref('stg_erp__orders') }}
),

customer_ids as (
    select * from {{ ref('customer_ids') }}
    where source_system = 'erp'
),

horizon as (
    select max(known_at) as known_until from orders
),

month_ends as (
    select (month_start + interval '1 month - 1 day')::date as as_of_date
    from
        horizon,
        generate_series(
            (select date_trunc('month', min(ordered_at) at time zone '{{ var("business_timezone") }}') from orders),
            {%- if var('as_of_date') %}
                '{{ var("as_of_date") }}'::date,
            {%- else %}
            (known_until at time zone '{{ var("business_timezone") }}'),
            {%- endif %}
            interval '1 month'
        ) as month_start
),

requested_dates as (
    select month_ends.as_of_date
    from month_ends
    cross join horizon
    where
        {{ as_of_cutoff('month_ends.as_of_date') }} <= horizon.known_until
    {%- if var('as_of_date') %}
        and month_ends.as_of_date <= '{{ var("as_of_date") }}'::date
    union
    select '{{ var("as_of_date") }}'::date as as_of_date
    {%- endif %}
),

as_of_dates as (
    select
        as_of_date,
        {{ as_of_cutoff('as_of_date') }} as cutoff_at
    from requested_dates
    {%- if is_incremental() %}
        where
            as_of_date > (select coalesce(max(existing.as_of_date), '1900-01-01'::date) from {{ this }} as existing)
            {%- if var('as_of_date') %}
                or as_of_date = '{{ var("as_of_date") }}'::date
            {%- endif %}
    {%- endif %}
),

orders_known as (
    select
        d.as_of_date,
        d.cutoff_at,
        ids.cid,
        o.order_id,
        o.ordered_at,
        o.order_amount_cny
    from as_of_dates as d
    inner join orders as o
        on
            d.cutoff_at > o.ordered_at
            and {{ known_at_instant('d.cutoff_at', 'o') }}
    inner join customer_ids as ids
        on o.customer_code = ids.source_record_id
    where o.order_status <> 'cancelled'
),

final as (
    select
        cid,
        as_of_date,
        extract(day from max(cutoff_at) - max(ordered_at))::integer as days_since_last_order,
        extract(day from max(cutoff_at) - min(ordered_at))::integer as customer_tenure_days,
        count(*) filter (where ordered_at >= cutoff_at - interval '90 days') as orders_90d,
        count(*) filter (where ordered_at >= cutoff_at - interval '180 days') as orders_180d,
        count(*) filter (where ordered_at >= cutoff_at - interval '365 days') as orders_365d,
        coalesce(sum(order_amount_cny) filter (
            where ordered_at >= cutoff_at - interval '90 days'
        ), 0)::numeric(18, 2) as revenue_cny_90d,
        coalesce(sum(order_amount_cny) filter (
            where ordered_at >= cutoff_at - interval '180 days'
        ), 0)::numeric(18, 2) as revenue_cny_180d,
        coalesce(sum(order_amount_cny) filter (
            where ordered_at >= cutoff_at - interval '365 days'
        ), 0)::numeric(18, 2) as revenue_cny_365d,
        coalesce(sum(order_amount_cny) filter (
            where ordered_at >= cutoff_at - interval '180 days'
            and ordered_at < cutoff_at - interval '90 days'
        ), 0)::numeric(18, 2) as revenue_cny_prev_90d
    from orders_known
    group by cid, as_of_date
)

select
    *,
    case
        when revenue_cny_prev_90d > 0 then round(revenue_cny_90d / revenue_cny_prev_90d, 4)
    end as revenue_trend_90d
from final
