{#- The watchlists' rows, one per customer and warning on the current feature snapshot: the
    customers carrying a current tag that raises the warning (rule tags from the features, model
    tags from the warning's model), with the model's score and reasons when scored, else the names
    of the rules that fired, ranked within the warning. mart_churn_watchlist and
    mart_credit_watchlist each keep one warning. -#}

with features as (
    select * from {{ ref('customer_features') }}
),

customer_tags as (
    select * from {{ ref('mart_customer_tags') }}
),

history as (
    select * from {{ ref('customer_profile_history') }}
),

current_snapshots as (
    select * from {{ ref('int_current_snapshots_resolved') }}
),

watchlists as (
    -- each warning and the model whose score ranks its list
    select
        warning,
        task
    from (
        values
        ('churn_warning', 'churn_180d'),
        ('credit_warning', 'default_90dpd_180d')
    ) as lists (warning, task)
),

with_change as (
    select
        *,
        overdue_balance_cny - lag(overdue_balance_cny) over (
            partition by cid order by as_of_date
        ) as overdue_balance_change_cny
    from features
),

snapshot as (
    -- the current snapshot, with the change of the overdue balance since the snapshot before
    select c.*
    from with_change as c
    inner join current_snapshots as d
        on d.snapshot_source = 'features' and c.as_of_date = d.as_of_date
),

current_tags as (
    select * from customer_tags
    where is_current
),

profile_tags as (
    select
        cid,
        max(tag_value) filter (where tag_group = 'lifecycle_stage') as lifecycle_stage,
        max(tag_value) filter (where tag_group = 'rfm_segment') as rfm_segment,
        max(tag_value) filter (where tag_group = 'value_tier') as value_tier
    from current_tags
    where tag_source = 'features'
    group by cid
),

model_scores as (
    select
        t.cid,
        t.tag_source as task,
        t.as_of_date,
        t.score,
        t.tag_value as band,
        t.reasons,
        t.model
    from current_tags as t
    inner join watchlists as l on t.tag_source = l.task
),

warnings as (
    select
        t.cid,
        t.raises_warning as warning,
        count(*) as warning_count,
        string_agg(t.tag_code, ',' order by t.tag_kind = 'model' desc, t.tag_code) as warning_tags,
        string_agg(t.name_cn, '、' order by t.tag_kind = 'model' desc, t.tag_code) as warning_names_cn,
        string_agg(t.name_en, ', ' order by t.tag_code) filter (where t.tag_kind <> 'model') as rule_names,
        bool_or(t.tag_kind = 'model') as has_model_warning,
        bool_or(t.tag_kind <> 'model') as has_rule_warning
    from current_tags as t
    inner join watchlists as l on t.raises_warning = l.warning
    group by t.cid, t.raises_warning
),

warned_since as (
    select
        h.cid,
        t.raises_warning as warning,
        min(h.since_date) as watch_since
    from history as h
    inner join current_tags as t
        on h.cid = t.cid and h.tag_code = t.tag_code and h.tag_source = t.tag_source
    inner join watchlists as l on t.raises_warning = l.warning
    where h.is_current
    group by h.cid, t.raises_warning
),

candidates as (
    select
        s.*,
        w.warning,
        w.warning_count,
        w.warning_tags,
        w.warning_names_cn,
        w.rule_names,
        w.has_model_warning,
        w.has_rule_warning,
        ws.watch_since,
        p.lifecycle_stage,
        p.rfm_segment,
        p.value_tier,
        m.score as model_score,
        m.band as model_band,
        m.reasons as model_reasons,
        m.model,
        m.as_of_date as model_as_of_date
    from snapshot as s
    inner join warnings as w on s.cid = w.cid
    inner join watchlists as l on w.warning = l.warning
    left join warned_since as ws on s.cid = ws.cid and w.warning = ws.warning
    left join profile_tags as p on s.cid = p.cid
    left join model_scores as m on s.cid = m.cid and l.task = m.task
    -- churned customers (no order in 365 days) are the win-back list's, not the churn watchlist's
    where w.warning <> 'churn_warning' or p.lifecycle_stage is distinct from 'churned'
),

final as (
    select
        warning::text as warning,
        row_number() over (
            partition by warning
            order by
                model_score desc nulls last,
                warning_count desc,
                (case when warning = 'credit_warning' then overdue_balance_cny else revenue_cny_365d end) desc,
                cid asc
        )::integer as watch_rank,
        cid::text as cid,
        as_of_date::date as as_of_date,
        warning_tags::text as warning_tags,
        warning_names_cn::text as warning_names_cn,
        warning_count::integer as warning_count,
        watch_since::date as watch_since,
        (
            case
                when has_model_warning and model_reasons is not null then model_reasons
                else rule_names
            end
        )::text as reasons,
        (
            case
                when has_model_warning and has_rule_warning then 'model+rules'
                when has_model_warning then 'model'
                else 'rules'
            end
        )::text as reason_source,
        model_score::double precision as model_score,
        model_band::text as model_band,
        model_reasons::text as model_reasons,
        model::text as model,
        model_as_of_date::date as model_as_of_date,
        lifecycle_stage::text as lifecycle_stage,
        rfm_segment::text as rfm_segment,
        value_tier::text as value_tier,
        days_since_last_order::integer as days_since_last_order,
        orders_365d::integer as orders_365d,
        revenue_cny_365d::numeric(18, 2) as revenue_cny_365d,
        revenue_trend_90d::numeric(18, 4) as revenue_trend_90d,
        overdue_balance_cny::numeric(18, 2) as overdue_balance_cny,
        overdue_balance_change_cny::numeric(18, 2) as overdue_balance_change_cny,
        open_balance_cny::numeric(18, 2) as open_balance_cny,
        oldest_open_days_late::numeric(18, 2) as oldest_open_days_late,
        credit_limit_use::numeric(18, 4) as credit_limit_use,
        late_invoice_share_365d::numeric(18, 4) as late_invoice_share_365d
    from candidates
)

select * from final
