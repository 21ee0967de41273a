{#- Each campaign's funnel over its treated members, one row per step: reached (in the
    audience and contacted), delivered, opened, clicked, engaged (replied, asked for a sample or
    booked a meeting), converted (engaged, and an ERP order within the window: the conversions
    the funnel leads to; mart_campaign_kpis counts every order, engaged or not). A member counts
    at a step when it reached that step or any later one, so channels that report no opens (a
    visit, an exhibition) still give a funnel that never widens. -#}

with members as (
    select * from {{ ref('mart_campaign_members') }}
    where assignment = 'treatment'
),

steps as (
    select
        campaign_id,
        converted and (replied or sample_requested or meeting_booked) as converted,
        replied or sample_requested or meeting_booked as engaged,
        replied or sample_requested or meeting_booked or clicked as clicked,
        replied or sample_requested or meeting_booked or clicked or opened as opened,
        replied or sample_requested or meeting_booked or clicked or opened or delivered
            as delivered
    from members
),

counted as (
    select
        campaign_id,
        count(*)::integer as reached,
        count(*) filter (where delivered)::integer as delivered,
        count(*) filter (where opened)::integer as opened,
        count(*) filter (where clicked)::integer as clicked,
        count(*) filter (where engaged)::integer as engaged,
        count(*) filter (where converted)::integer as converted
    from steps
    group by campaign_id
),

unpivoted as (
    select c.campaign_id, s.step_order, s.step, s.members
    from counted as c
    cross join lateral (
        values
        (1, 'reached', c.reached),
        (2, 'delivered', c.delivered),
        (3, 'opened', c.opened),
        (4, 'clicked', c.clicked),
        (5, 'engaged', c.engaged),
        (6, 'converted', c.converted)
    ) as s (step_order, step, members)
),

final as (
    select
        campaign_id,
        step_order,
        step,
        members,
        (members::double precision / nullif(first_value(members) over w, 0)) as rate_of_reached,
        (members::double precision / nullif(lag(members) over w, 0)) as rate_of_previous_step
    from unpivoted
    window w as (partition by campaign_id order by step_order)
)

select * from final
