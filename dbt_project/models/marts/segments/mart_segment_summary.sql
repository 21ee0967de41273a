{#- Customers and money per segment on every feature snapshot: by lifecycle stage and value tier,
    and by region, customer type and industry as the snapshot knew them (the firmographics
    features), else as the golden record (dim_customer) has them (region falls back to province;
    a missing attribute is null — city is too fine a grain). The base of the semantic layer's
    customer metrics (models/semantic). -#}
{%- set dim_columns = model_columns('dim_customer') %}

with features as (
    select * from {{ ref('customer_features') }}
),

customer_tags as (
    select * from {{ ref('mart_customer_tags') }}
),

customers as (
    select * from {{ ref('dim_customer') }}
),

snapshot_tags as (
    select
        cid,
        as_of_date,
        max(tag_value) filter (where tag_group = 'lifecycle_stage') as lifecycle_stage,
        max(tag_value) filter (where tag_group = 'value_tier') as value_tier,
        bool_or(raises_warning = 'credit_warning') as has_credit_warning,
        bool_or(raises_warning = 'churn_warning') as has_churn_warning,
        bool_or(tag_code = 'churn_risk_high') as has_high_churn_risk,
        max(score) filter (where tag_group = 'churn_risk') as churn_score
    from customer_tags
    group by cid, as_of_date
),

attributes as (
    select
        cid,
        {{ 'region' if 'region' in dim_columns else ('province' if 'province' in dim_columns else 'null') }}::text as region,
        {{ 'customer_type' if 'customer_type' in dim_columns else 'null' }}::text as customer_type,
        {{ 'industry' if 'industry' in dim_columns else 'null' }}::text as industry
    from customers
),

joined as (
    select
        f.as_of_date,
        f.orders_365d,
        f.revenue_cny_90d,
        f.revenue_cny_365d,
        f.overdue_balance_cny,
        f.open_balance_cny,
        f.samples_matured_365d,
        f.samples_converted_365d,
        coalesce(f.region, a.region) as region,
        coalesce(f.customer_type, a.customer_type) as customer_type,
        coalesce(f.industry, a.industry) as industry,
        t.lifecycle_stage,
        t.value_tier,
        coalesce(t.has_credit_warning, false) as has_credit_warning,
        coalesce(t.has_churn_warning, false) as has_churn_warning,
        coalesce(t.has_high_churn_risk, false) as has_high_churn_risk,
        t.churn_score
    from features as f
    left join snapshot_tags as t on f.cid = t.cid and f.as_of_date = t.as_of_date
    left join attributes as a on f.cid = a.cid
),

final as (
    select
        as_of_date::date as as_of_date,
        lifecycle_stage::text as lifecycle_stage,
        value_tier::text as value_tier,
        region::text as region,
        customer_type::text as customer_type,
        industry::text as industry,
        count(*)::integer as customers,
        (count(*) filter (where orders_365d > 0))::integer as active_customers,
        (count(*) filter (where lifecycle_stage = 'churned'))::integer as churned_customers,
        sum(revenue_cny_90d)::numeric(18, 2) as revenue_cny_90d,
        sum(revenue_cny_365d)::numeric(18, 2) as revenue_cny_365d,
        sum(overdue_balance_cny)::numeric(18, 2) as overdue_balance_cny,
        sum(open_balance_cny)::numeric(18, 2) as open_balance_cny,
        coalesce(sum(samples_matured_365d), 0)::integer as samples_matured_365d,
        coalesce(sum(samples_converted_365d), 0)::integer as samples_converted_365d,
        (count(*) filter (where has_credit_warning))::integer as credit_warning_customers,
        (count(*) filter (where has_churn_warning))::integer as churn_warning_customers,
        (count(*) filter (where has_high_churn_risk))::integer as high_churn_risk_customers,
        (count(churn_score))::integer as churn_scored_customers,
        avg(churn_score)::double precision as avg_churn_score
    from joined
    group by as_of_date, lifecycle_stage, value_tier, region, customer_type, industry
)

select * from final
