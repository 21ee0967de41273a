{{
    config(
        materialized='incremental',
        unique_key='as_of_date',
        incremental_strategy='delete+insert',
    )
}}
{#- Firmographics family, one row per (cid, as_of_date) with a registry record or a CRM account
    known at the cutoff: customer type (sales' judgement in CRM), industry and region (the
    registry's, else CRM's), company age, registered capital and registry status. Point in time:
    the registry and CRM versions known at the cutoff, so a later deregistration or capital
    increase never reaches an earlier snapshot. -#}

with as_of_dates as (
    {{ feature_dates_to_build() }}
),

registry_companies as (
    select * from {{ ref('stg_registry__companies') }}
),

crm_accounts as (
    select * from {{ ref('stg_crm__accounts') }}
),

registry_ids as (
    select * from {{ ref('customer_ids') }}
    where source_system = 'registry' and source_table = 'companies'
),

account_ids as (
    select * from {{ ref('customer_ids') }}
    where source_system = 'crm' and source_table = 'accounts'
),

-- one registry record per customer and date: the company registered first
registry_known as (
    select distinct on (d.as_of_date, ids.cid)
        d.as_of_date,
        ids.cid,
        r.industry,
        r.province,
        r.founded_date,
        r.registered_capital_cny,
        r.registry_status
    from as_of_dates as d
    inner join registry_companies as r
        on {{ known_at_instant('d.cutoff_at', 'r') }}
    inner join registry_ids as ids
        on r.credit_code = ids.source_record_id
    order by d.as_of_date, ids.cid, r.founded_date nulls last, r.credit_code
),

-- one CRM account per customer and date: the oldest account with a customer type
account_known as (
    select distinct on (d.as_of_date, ids.cid)
        d.as_of_date,
        ids.cid,
        a.customer_type,
        a.industry,
        a.province
    from as_of_dates as d
    inner join crm_accounts as a
        on d.cutoff_at > a.created_at and {{ known_at_instant('d.cutoff_at', 'a') }}
    inner join account_ids as ids
        on a.account_id = ids.source_record_id
    order by d.as_of_date, ids.cid, (a.customer_type is null), a.created_at, a.account_id
),

final as (
    select
        coalesce(r.cid, a.cid) as cid,
        coalesce(r.as_of_date, a.as_of_date) as as_of_date,
        a.customer_type,
        coalesce(r.industry, a.industry) as industry,
        coalesce(r.province, a.province) as region,
        round(((coalesce(r.as_of_date, a.as_of_date) - r.founded_date) / 365.25)::numeric, 1) as company_age_years,
        r.registered_capital_cny,
        r.registry_status,
        case when r.registry_status is not null then r.registry_status in ('注销', '吊销') end as is_deregistered
    from registry_known as r
    full outer join account_known as a
        on r.cid = a.cid and r.as_of_date = a.as_of_date
)

select * from final
