{{
    config(
        materialized='incremental',
        unique_key='as_of_date',
        incremental_strategy='delete+insert',
    )
}}
{#- Cooperation family, one row per (cid, as_of_date) with a project running at some time in the
    730 days before the cutoff: active and co-development projects, and how much of each year's
    project work was new (a falling share of new projects means the partnership stops growing),
    and where the customer's product trials stand (a running trial is a qualification under way;
    a completed one usually opens a buying phase, a cancelled one ends it).
    Point in time: project versions known at the cutoff; an end date counts only before it. -#}

with as_of_dates as (
    {{ feature_dates_to_build() }}
),

projects as (
    select * from {{ ref('stg_projects__projects') }}
),

project_ids as (
    select * from {{ ref('customer_ids') }}
    where source_system = 'projects' and source_table = 'projects'
),

projects_known as (
    select
        d.as_of_date,
        d.cutoff_at,
        ids.cid,
        p.project_type,
        -- the status is optional: without one, a project not ended by the cutoff is active
        -- and an ended one counts as ended (neither completed nor cancelled)
        coalesce(
            p.project_status,
            case when p.ended_at is null or p.ended_at >= d.cutoff_at then 'active' else 'ended' end
        ) as project_status,
        p.started_at,
        case when p.ended_at < d.cutoff_at then p.ended_at end as ended_at
    from as_of_dates as d
    inner join projects as p
        on
            d.cutoff_at > p.started_at
            and {{ known_at_instant('d.cutoff_at', 'p') }}
    inner join project_ids as ids
        on p.project_id = ids.source_record_id
    where p.ended_at is null or p.ended_at >= d.cutoff_at - interval '730 days'
),

-- which of the two years before the cutoff each project ran in, and whether it started then
project_years as (
    select
        *,
        (ended_at is null or ended_at >= cutoff_at - interval '365 days') as ran_365d,
        (started_at < cutoff_at - interval '365 days') as ran_prev_365d,
        (started_at >= cutoff_at - interval '365 days') as started_365d,
        (started_at >= cutoff_at - interval '730 days' and started_at < cutoff_at - interval '365 days')
            as started_prev_365d
    from projects_known
),

final as (
    select
        cid,
        as_of_date,
        count(*) filter (where ended_at is null and project_status = 'active') as active_projects,
        count(*) filter (
            where ended_at is null and project_status = 'active' and project_type = 'co_development'
        ) as active_codev_projects,
        count(*) filter (
            where ended_at is null and project_status = 'active' and project_type = 'trial'
        ) as active_trial_projects,
        extract(day from max(cutoff_at) - max(ended_at) filter (
            where project_type = 'trial' and project_status = 'completed'
        ))::integer as days_since_trial_completed,
        extract(day from max(cutoff_at) - max(ended_at) filter (
            where project_type = 'trial' and project_status = 'cancelled'
        ))::integer as days_since_trial_cancelled,
        count(*) filter (where ran_365d and project_type = 'co_development' and project_status <> 'cancelled')
            as joint_projects_365d,
        count(*) filter (where started_365d) as new_projects_365d,
        round(avg(started_365d::integer::numeric) filter (where ran_365d), 4) as new_project_share_365d,
        round(avg(started_prev_365d::integer::numeric) filter (where ran_prev_365d), 4) as new_project_share_prev_365d
    from project_years
    group by cid, as_of_date
)

select * from final
