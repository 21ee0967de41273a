{{ config(post_hook="create index on {{ this }} (cid)") }}
{#- Customers to win back before they leave, on the current feature snapshot, ranked: those the churn
    model puts in its high band, and those carrying any tag that raises a churn warning (catalog
    `raises: churn_warning`, e.g. declining value, RFM at risk, lifecycle decline). Ranked by churn
    score when scored, then by number of warnings and 365-day value. Customers already churned (no
    order in 365 days) are left out: they are the win-back list's, not this one's. The
    churn_warning rows of int_customer_warnings_ranked. -#}

with warnings as (
    select * from {{ ref('int_customer_warnings_ranked') }}
    where warning = 'churn_warning'
),

final as (
    select
        watch_rank,
        cid,
        as_of_date,
        warning_tags,
        warning_names_cn,
        warning_count,
        watch_since,
        reasons,
        reason_source,
        model_score,
        model_band,
        model_reasons,
        model,
        model_as_of_date,
        lifecycle_stage,
        rfm_segment,
        value_tier,
        days_since_last_order,
        orders_365d,
        revenue_cny_365d,
        revenue_trend_90d,
        overdue_balance_cny,
        overdue_balance_change_cny,
        open_balance_cny,
        oldest_open_days_late,
        credit_limit_use,
        late_invoice_share_365d
    from warnings
)

select * from final
