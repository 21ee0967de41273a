{{
    config(
        materialized='incremental',
        unique_key='as_of_date',
        incremental_strategy='delete+insert',
    )
}}
{#- Engagement family, one row per (cid, as_of_date) with a CRM touchpoint in the 730 days
    before the cutoff or a CRM contact: touchpoints by channel, who reached out, how recently, and how long the
    customer takes to answer sales (now against the whole year). Point in time: interaction and
    contact versions known at the cutoff, answers given before it. CRM records reach the CID
    through their account; contacts count as resolved persons (identity.person_ids: two CRM
    contacts of one person are one), R&D by the contact_title_roles seed. -#}

with as_of_dates as (
    {{ feature_dates_to_build() }}
),

interactions as (
    select * from {{ ref('stg_crm__interactions') }}
),

contacts as (
    select * from {{ ref('stg_crm__contacts') }}
),

rd_keywords as (
    select keyword from {{ ref('contact_title_roles') }}
    where role = 'rd_contact'
),

contact_person_ids as (
    select * from {{ ref('person_ids') }}
    where source_system = 'crm' and source_table = 'contacts'
),

account_ids as (
    select * from {{ ref('customer_ids') }}
    where source_system = 'crm' and source_table = 'accounts'
),

interactions_known as (
    select
        d.as_of_date,
        d.cutoff_at,
        ids.cid,
        i.interaction_channel,
        i.interaction_direction,
        i.occurred_at,
        -- days the customer took to answer; an answer still missing at the cutoff counts the
        -- days waited so far, and waits are capped at 14 days (almost every answer comes
        -- within 5), so a few ignored touchpoints do not swamp the mean
        extract(
            epoch from least(coalesce(i.responded_at, d.cutoff_at), d.cutoff_at, i.occurred_at + interval '14 days')
            - i.occurred_at
        ) / 86400.0 as response_days
    from as_of_dates as d
    inner join interactions as i
        on
            d.cutoff_at > i.occurred_at
            and i.occurred_at >= d.cutoff_at - interval '730 days'
            and {{ known_at_instant('d.cutoff_at', 'i') }}
    inner join account_ids as ids
        on i.account_id = ids.source_record_id
),

interaction_features as (
    select
        cid,
        as_of_date,
        extract(day from max(cutoff_at) - max(occurred_at))::integer as days_since_last_contact,
        count(*) filter (where occurred_at >= cutoff_at - interval '365 days') as interactions_365d,
        {%- for channel in ['visit', 'phone', 'wechat', 'email', 'exhibition', 'online_meeting'] %}
            count(*) filter (
                where interaction_channel = '{{ channel }}' and occurred_at >= cutoff_at - interval '365 days'
            ) as {{ channel }}_interactions_365d,
        {%- endfor %}
        count(*) filter (
            where interaction_direction = 'inbound' and occurred_at >= cutoff_at - interval '90 days'
        ) as customer_initiated_inquiries_90d,
        avg((interaction_direction = 'inbound')::integer::numeric) filter (
            where occurred_at >= cutoff_at - interval '365 days'
        ) as inbound_share_365d,
        avg(response_days) filter (
            where interaction_direction = 'outbound' and occurred_at >= cutoff_at - interval '90 days'
        ) as avg_contact_gap_days_90d,
        avg(response_days) filter (
            where interaction_direction = 'outbound' and occurred_at >= cutoff_at - interval '365 days'
        ) as avg_contact_gap_days_365d
    from interactions_known
    group by cid, as_of_date
),

-- people at the customer known at the cutoff (a person once however many contacts); R&D by
-- their job title
contacts_known as (
    select
        d.as_of_date,
        ids.cid,
        pid.person_id,
        exists(
            select 1 from rd_keywords as k
            where {{ title_keyword_match(normalize_title('c.contact_title'), 'k.keyword') }}
        ) as is_rd_contact
    from as_of_dates as d
    inner join contacts as c
        on d.cutoff_at > c.created_at and {{ known_at_instant('d.cutoff_at', 'c') }}
    inner join account_ids as ids
        on c.account_id = ids.source_record_id
    inner join contact_person_ids as pid
        on c.contact_id = pid.source_record_id
),

persons_known as (
    select
        cid,
        as_of_date,
        person_id,
        bool_or(is_rd_contact) as is_rd_contact
    from contacts_known
    group by cid, as_of_date, person_id
),

contact_features as (
    select
        cid,
        as_of_date,
        count(*) as crm_contacts,
        avg(is_rd_contact::integer::numeric) as rd_contact_share
    from persons_known
    group by cid, as_of_date
),

final as (
    select
        coalesce(i.cid, c.cid) as cid,
        coalesce(i.as_of_date, c.as_of_date) as as_of_date,
        i.days_since_last_contact,
        coalesce(i.interactions_365d, 0) as interactions_365d,
        {%- for channel in ['visit', 'phone', 'wechat', 'email', 'exhibition', 'online_meeting'] %}
            coalesce(i.{{ channel }}_interactions_365d, 0) as {{ channel }}_interactions_365d,
        {%- endfor %}
        coalesce(i.customer_initiated_inquiries_90d, 0) as customer_initiated_inquiries_90d,
        round(i.inbound_share_365d, 4) as inbound_share_365d,
        round(i.avg_contact_gap_days_90d::numeric, 2) as avg_contact_gap_days_90d,
        round(i.avg_contact_gap_days_365d::numeric, 2) as avg_contact_gap_days_365d,
        round((i.avg_contact_gap_days_90d / nullif(i.avg_contact_gap_days_365d, 0))::numeric, 4)
            as contact_gap_trend,
        coalesce(c.crm_contacts, 0) as crm_contacts,
        round(c.rd_contact_share, 4) as rd_contact_share
    from interaction_features as i
    full outer join contact_features as c
        on i.cid = c.cid and i.as_of_date = c.as_of_date
)

select * from final
