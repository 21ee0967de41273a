{#- The snapshot dates the features describe, each with its cutoff: every month-end whose
    closing midnight (business time) is covered by the loaded orders, from the month of the
    first order, plus var('as_of_date') when the pipeline asks for a day that is not a
    month-end. Every feature family reads its dates here, so all of them describe the same
    days. -#}
with orders as (
    select * from {{ ref('stg_erp__orders') }}
),

horizon as (
    select
        min(ordered_at) as first_ordered_at,
        max(known_at) as known_until
    from orders
),

month_ends as (
    select (month_start + interval '1 month - 1 day')::date as as_of_date
    from
        horizon,
        generate_series(
            date_trunc('month', first_ordered_at at time zone '{{ var("business_timezone") }}'),
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

final as (
    select
        as_of_date,
        {{ as_of_cutoff('as_of_date') }} as cutoff_at
    from requested_dates
)

select * from final
