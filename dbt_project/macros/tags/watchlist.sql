{#- A ranked watchlist on the latest feature snapshot: the customers carrying a current tag that
    raises `warning` (rule tags from the features, model tags from `task`'s scores), with the model's
    score and reasons when scored, else the names of the rules that fired. Both watchlists
    (mart_churn_watchlist, mart_credit_watchlist) share this shape. -#}
{% macro watchlist(warning, task) -%}
with features as (
    select * from {{ ref('customer_features') }}
),

customer_tags as (
    select * from {{ ref('mart_customer_tags') }}
),

history as (
    select * from {{ ref('customer_profile_history') }}
),

latest_date as (
    select max(as_of_date) as as_of_date from features
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
    -- the latest snapshot, with the change of the overdue balance since the snapshot before
    select c.*
    from with_change as c
    inner join latest_date as d on c.as_of_date = d.as_of_date
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
        cid,
        as_of_date,
        score,
        tag_value as band,
        reasons,
        model
    from current_tags
    where tag_source = '{{ task }}'
),

warnings as (
    select
        cid,
        count(*) as warning_count,
        string_agg(tag_code, ',' order by tag_kind = 'model' desc, tag_code) as warning_tags,
        string_agg(name_cn, '、' order by tag_kind = 'model' desc, tag_code) as warning_names_cn,
        string_agg(name_en, ', ' order by tag_code) filter (where tag_kind <> 'model') as rule_names,
        bool_or(tag_kind = 'model') as has_model_warning,
        bool_or(tag_kind <> 'model') as has_rule_warning
    from current_tags
    where raises_warning = '{{ warning }}'
    group by cid
),

warned_since as (
    select
        h.cid,
        min(h.since_date) as watch_since
    from history as h
    inner join current_tags as t
        on h.cid = t.cid and h.tag_code = t.tag_code and h.tag_source = t.tag_source
    where h.is_current and t.raises_warning = '{{ warning }}'
    group by h.cid
),

candidates as (
    select
        s.*,
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
    left join warned_since as ws on s.cid = ws.cid
    left join profile_tags as p on s.cid = p.cid
    left join model_scores as m on s.cid = m.cid
    {%- if warning == 'churn_warning' %}
    where p.lifecycle_stage is distinct from 'churned'
    {%- endif %}
),

final as (
    select
        row_number() over (
            order by
                model_score desc nulls last,
                warning_count desc,
                {{ 'overdue_balance_cny' if warning == 'credit_warning' else 'revenue_cny_365d' }} desc,
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
{%- endmacro %}
