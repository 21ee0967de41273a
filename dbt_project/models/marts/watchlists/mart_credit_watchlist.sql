{{ config(post_hook="create index on {{ this }} (cid)") }}
{#- Customers whose credit needs a look, on the current feature snapshot, ranked: those the default
    model grades D or E, and those carrying any tag that raises a credit warning (catalog
    `raises: credit_warning`, e.g. frequent late payment, high overdue, worsening payment). Ranked by
    default score when scored, then by number of warnings and overdue balance. The credit_warning
    rows of int_customer_warnings_ranked. -#}

with warnings as (
    select * from {{ ref('int_customer_warnings_ranked') }}
    where warning = 'credit_warning'
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
