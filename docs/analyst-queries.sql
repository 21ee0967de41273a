-- Analyst questions answered over the marts only (schema marts). Each query stands alone;
-- tests/integration/test_tags.py runs every one of them on a small simulated world.
-- Tag codes and their rules: select * from marts.mart_tag_catalog order by catalog_order;

-- Q: Which customers tagged 'frequent late payment' have an overdue balance that is rising?
select
    w.watch_rank,
    w.cid,
    w.overdue_balance_cny,
    w.overdue_balance_change_cny,
    w.oldest_open_days_late,
    w.late_invoice_share_365d,
    w.watch_since,
    w.warning_names_cn
from marts.mart_credit_watchlist as w
inner join marts.mart_customer_tags as t
    on w.cid = t.cid and t.is_current and t.tag_code = 'frequent_late_payment'
where w.overdue_balance_change_cny > 0
order by w.overdue_balance_change_cny desc;

-- Q: Since when has each at-risk customer been at risk, and what were they before?
select
    h.cid,
    h.since_date as at_risk_since,
    h.snapshots as snapshots_at_risk,
    h.previous_tag_value as segment_before,
    h.previous_since_date as segment_before_since,
    p.lifecycle_stage,
    p.value_tier
from marts.customer_profile_history as h
inner join marts.mart_customer_profile as p on h.cid = p.cid
where h.tag_code = 'rfm_at_risk' and h.is_current
order by h.since_date, h.cid;

-- Q: How did customers move between lifecycle stages on the latest snapshot (from -> to)?
select
    coalesce(h.previous_tag_value, '(first seen)') as stage_before,
    h.tag_value as stage_now,
    count(*) as customers
from marts.customer_profile_history as h
where
    h.tag_group = 'lifecycle_stage'
    and h.since_date = (select max(as_of_date) from marts.mart_segment_summary)
group by 1, 2
order by customers desc, stage_before, stage_now;

-- Q: Which high-value customers are on the churn watchlist, and why?
select
    w.watch_rank,
    w.cid,
    w.lifecycle_stage,
    w.rfm_segment,
    w.revenue_cny_365d,
    w.revenue_trend_90d,
    w.days_since_last_order,
    w.model_score as churn_score,
    w.reasons,
    w.reason_source,
    w.watch_since
from marts.mart_churn_watchlist as w
where w.value_tier = 'high'
order by w.watch_rank
limit 20;

-- Q: What does each tag category hold today: active and planned tags and how many customers carry them?
select
    category_cn,
    category,
    count(*) filter (where status = 'active') as active_tags,
    count(*) filter (where status = 'planned') as planned_tags,
    sum(current_customers) as customer_tags_now,
    string_agg(name_cn || ' ' || current_customers, '、' order by catalog_order)
        filter (where status = 'active') as tags_with_customers
from marts.mart_tag_catalog
group by category_cn, category
order by min(catalog_order);

-- Q: On the latest snapshot, how are customers, revenue, overdue money and warnings spread over lifecycle stage and value tier?
select
    lifecycle_stage,
    value_tier,
    sum(customers) as customers,
    sum(revenue_cny_365d) as revenue_cny_365d,
    round(sum(revenue_cny_365d) / nullif(sum(sum(revenue_cny_365d)) over (), 0), 4) as revenue_share,
    round(sum(overdue_balance_cny) / nullif(sum(open_balance_cny), 0), 4) as overdue_share,
    sum(credit_warning_customers) as credit_warnings,
    sum(churn_warning_customers) as churn_warnings
from marts.mart_segment_summary
where as_of_date = (select max(as_of_date) from marts.mart_segment_summary)
group by lifecycle_stage, value_tier
order by revenue_cny_365d desc;

-- Q: Which long-term partners became price-sensitive in the last six months?
select
    ps.cid,
    ps.since_date as price_sensitive_since,
    ltp.since_date as partner_since,
    p.value_tier,
    p.current_tags
from marts.customer_profile_history as ps
inner join marts.customer_profile_history as ltp
    on ps.cid = ltp.cid and ltp.tag_code = 'long_term_partner' and ltp.is_current
inner join marts.mart_customer_profile as p on ps.cid = p.cid
where
    ps.tag_code = 'price_sensitive'
    and ps.is_current
    and ps.since_date > (select max(as_of_date) from marts.mart_segment_summary) - interval '6 months'
order by ps.since_date desc;

-- Q: Whose churn-risk band got worse between their last two scored dates, and what were the reasons?
with bands as (
    select
        cid,
        as_of_date,
        tag_value as band,
        reasons,
        lag(tag_value) over (partition by cid order by as_of_date) as band_before,
        row_number() over (partition by cid order by as_of_date desc) as recency
    from marts.mart_customer_tags
    where tag_group = 'churn_risk'
)

select
    cid,
    as_of_date,
    band_before,
    band,
    reasons
from bands
where
    recency = 1
    and array_position(array['low', 'medium', 'high'], band)
    > array_position(array['low', 'medium', 'high'], band_before)
order by band desc, cid;
