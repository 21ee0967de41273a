{#- The tag catalog: every tag portrait knows, declared once. Adding a rule tag is one entry here.

    Fields: code, name_cn, name_en, category (基础属性 basic, 行为特征 behaviour, 合作偏好 cooperation,
    技术诉求 technical_demand, 价值 value, 生命周期 lifecycle, 风险 risk, 服务 service, 意向 intent),
    kind, tag_group, rule, requires, raises, owner, version, status, description.

    kind says who evaluates the rule:
      rule       boolean SQL over features.customer_features, any number per customer (tags.customer_rule_tags)
      lifecycle  exclusive stage: the first entry (in catalog order) whose rule holds (tags.customer_lifecycle_stages)
      rfm        exclusive RFM segment, rules over recency/frequency/monetary_score (tags.customer_rfm_scores)
      value      exclusive value tier, rules over revenue_percentile (tags.customer_rfm_scores)
      model      from ml.customer_scores: `rule` is "<task>:<band>" (marts.mart_customer_tags)
      segment    from ml.customer_segments: one tag, the segment name is its value (marts.mart_customer_tags)
    requires lists the customer_features columns the rule reads: while one is missing the rule is
    not evaluated (status shows planned), and it turns on by itself once the column exists.
    raises: credit_warning or churn_warning puts the customer on that watchlist.
    status: active, planned (waiting for features) or retired (never evaluated).
    A change to a rule needs a new version: every snapshot date is then re-tagged. -#}
{% macro tag_catalog() %}
{%- set catalog_yaml -%}
# ---------------------------------------------------------------- rule tags: behaviour / cooperation
- code: project_based_purchasing
  name_cn: 项目制采购
  name_en: Project-based purchasing
  category: cooperation
  kind: rule
  rule: orders_365d >= 2 and order_gap_cv_365d >= 1.2
  requires: [orders_365d, order_gap_cv_365d]
  owner: sales-ops
  version: 1
  status: active
  description: Orders come in bursts around projects (gaps between orders vary more than their mean).
- code: concentrated_cycle
  name_cn: 采购周期集中
  name_en: Concentrated purchasing cycle
  category: behaviour
  kind: rule
  rule: orders_365d >= 4 and order_gap_cv_365d <= 0.7
  requires: [orders_365d, order_gap_cv_365d]
  owner: sales-ops
  version: 1
  status: active
  description: Reorders on a steady rhythm (coefficient of variation of order gaps at most 0.7, 4+ orders a year).
- code: high_reorder_rate
  name_cn: 高复购
  name_en: High reorder rate
  category: behaviour
  kind: rule
  rule: orders_365d >= 12 and orders_prev_365d >= 6
  requires: [orders_365d, orders_prev_365d]
  owner: sales-ops
  version: 1
  status: active
  description: Orders about monthly or more this year, and at least every other month the year before.
- code: price_sensitive
  name_cn: 价格敏感
  name_en: Price-sensitive
  category: behaviour
  kind: rule
  rule: avg_price_to_list_365d <= 0.87
  requires: [avg_price_to_list_365d]
  owner: pricing
  version: 1
  status: active
  description: Pays on average 13% or more below list price over the last 365 days.
- code: single_material_dependency
  name_cn: 单一材料依赖
  name_en: Single-material dependency
  category: technical_demand
  kind: rule
  rule: orders_365d >= 3 and top_family_share_365d >= 0.9
  requires: [orders_365d, top_family_share_365d]
  owner: product
  version: 1
  status: active
  description: At least 90% of the last year's order value is in one material family (3+ orders).
- code: long_term_partner
  name_cn: 长期合作伙伴
  name_en: Long-term partner
  category: cooperation
  kind: rule
  rule: orders_365d >= 6 and orders_prev_365d >= 6
  requires: [orders_365d, orders_prev_365d]
  owner: sales-ops
  version: 1
  status: active
  description: Six or more orders in each of the last two years.
- code: frequent_order_changes
  name_cn: 订单变更频繁
  name_en: Frequent order changes
  category: behaviour
  kind: rule
  rule: orders_365d >= 3 and avg_order_changes_365d >= 0.5
  requires: [orders_365d, avg_order_changes_365d]
  owner: sales-ops
  version: 1
  status: active
  description: On average every other order was changed after it was placed (3+ orders a year).
# ---------------------------------------------------------------- rule tags: risk / value
- code: frequent_late_payment
  name_cn: 频繁逾期付款
  name_en: Frequent late payment
  category: risk
  kind: rule
  rule: invoices_365d >= 3 and late_invoice_share_365d >= 0.75 and avg_days_late_365d >= 10
  requires: [invoices_365d, late_invoice_share_365d, avg_days_late_365d]
  raises: credit_warning
  owner: credit
  version: 1
  status: active
  description: Three quarters of the invoices due in the last year were paid late, by 10+ days on average.
- code: high_overdue
  name_cn: 高额逾期
  name_en: High overdue balance
  category: risk
  kind: rule
  rule: overdue_balance_cny > 0 and (oldest_open_days_late >= 30 or credit_limit_use >= 1)
  requires: [overdue_balance_cny, oldest_open_days_late, credit_limit_use]
  raises: credit_warning
  owner: credit
  version: 1
  status: active
  description: Owes past-due money, with an invoice 30+ days late or open balance over the credit limit.
- code: worsening_payment
  name_cn: 付款恶化
  name_en: Worsening payment
  category: risk
  kind: rule
  rule: avg_days_late_90d >= coalesce(avg_days_late_365d, 0) + 10
  requires: [avg_days_late_90d, avg_days_late_365d]
  raises: credit_warning
  owner: credit
  version: 1
  status: active
  description: Invoices due in the last 90 days are paid 10+ days later than the 365-day average.
- code: declining_value
  name_cn: 价值下滑
  name_en: Declining value
  category: value
  kind: rule
  rule: >-
    orders_prev_365d >= 3
    and (orders_365d < 0.5 * orders_prev_365d or (revenue_trend_90d < 0.3 and 2 * orders_90d < orders_180d))
  requires: [orders_prev_365d, orders_365d, orders_180d, orders_90d, revenue_trend_90d]
  raises: churn_warning
  owner: sales-ops
  version: 1
  status: active
  description: >-
    A customer with 3+ orders the year before now buys less: fewer than half the orders of the
    year before, or the last 90 days' value under 30% of the 90 days before with fewer orders.
# ---------------------------------------------------------------- rule tags: lab, CRM, service, projects, registry
- code: high_intent
  name_cn: 高意向
  name_en: High intent
  category: intent
  kind: rule
  rule: sample_requests_30d >= 3
  requires: [sample_requests_30d]
  owner: sales-ops
  version: 1
  status: active
  description: Three or more sample requests in the last 30 days (lab system).
- code: rd_driven
  name_cn: 研发驱动型
  name_en: R&D-driven
  category: technical_demand
  kind: rule
  rule: rd_contact_share >= 0.5 or sample_requests_365d >= 2 * greatest(orders_365d, 1)
  requires: [rd_contact_share, sample_requests_365d, orders_365d]
  owner: product
  version: 1
  status: active
  description: Half the CRM contacts are in R&D, or the customer requests twice as many samples as it orders.
- code: parameter_sensitive
  name_cn: 参数敏感型
  name_en: Parameter-sensitive
  category: technical_demand
  kind: rule
  rule: sample_requests_365d >= 2 and tight_spec_share_365d >= 0.5
  requires: [sample_requests_365d, tight_spec_share_365d]
  owner: product
  version: 1
  status: active
  description: Half or more of two or more sample requests in a year ask for a tolerance of 2% or less (lab).
- code: proactive_demand
  name_cn: 主动需求型
  name_en: Proactive demand
  category: intent
  kind: rule
  rule: customer_initiated_inquiries_90d >= 2
  requires: [customer_initiated_inquiries_90d]
  owner: sales-ops
  version: 1
  status: active
  description: Two or more inquiries the customer started (not sales) in the last 90 days (CRM).
- code: lengthening_response_interval
  name_cn: 响应间隔拉长
  name_en: Lengthening response interval
  category: service
  kind: rule
  rule: avg_contact_gap_days_90d > 1.5 * avg_contact_gap_days_365d and avg_contact_gap_days_90d >= 3
  requires: [avg_contact_gap_days_90d, avg_contact_gap_days_365d]
  raises: credit_warning
  owner: service
  version: 1
  status: active
  description: >-
    Over the last 90 days the customer took 3+ days on average to answer sales, half again as long
    as over the whole year (CRM interactions).
- code: high_service_dissatisfaction
  name_cn: 服务不满意度高
  name_en: High service dissatisfaction
  category: service
  kind: rule
  rule: avg_satisfaction_365d < 3 or complaint_tickets_365d >= 3
  requires: [avg_satisfaction_365d, complaint_tickets_365d]
  raises: churn_warning
  owner: service
  version: 1
  status: active
  description: Average ticket satisfaction under 3 of 5, or three or more complaints in a year (service desk).
- code: repeated_technical_rejections
  name_cn: 技术拒收反复
  name_en: Repeated technical rejections
  category: technical_demand
  kind: rule
  rule: technical_rejections_365d >= 2
  requires: [technical_rejections_365d]
  raises: churn_warning
  owner: quality
  version: 1
  status: active
  description: Two or more deliveries or samples rejected for technical reasons in a year (lab, service).
- code: frequent_replacements
  name_cn: 频繁换货
  name_en: Frequent replacements
  category: service
  kind: rule
  rule: replacement_tickets_365d >= 2
  requires: [replacement_tickets_365d]
  owner: service
  version: 1
  status: active
  description: Two or more replacement requests in a year (service desk).
- code: co_creation_partner
  name_cn: 共创伙伴
  name_en: Co-creation partner
  category: cooperation
  kind: rule
  rule: joint_projects_365d >= 1
  requires: [joint_projects_365d]
  owner: product
  version: 1
  status: active
  description: Runs at least one joint development project with us (project system).
- code: declining_new_project_ratio
  name_cn: 新项目占比下降
  name_en: Declining new-project ratio
  category: cooperation
  kind: rule
  rule: new_project_share_365d < 0.7 * new_project_share_prev_365d
  requires: [new_project_share_365d, new_project_share_prev_365d]
  raises: credit_warning
  owner: product
  version: 1
  status: active
  description: Share of new projects in the last year fell by 30%+ against the year before (project system).
- code: registered_capital_large
  name_cn: 大型企业
  name_en: Large enterprise
  category: basic
  kind: rule
  rule: registered_capital_cny >= 100000000
  requires: [registered_capital_cny]
  owner: sales-ops
  version: 1
  status: active
  description: Registered capital of CNY 100 million or more (business registry).
# ---------------------------------------------------------------- lifecycle (first match wins)
- code: lifecycle_churned
  name_cn: 流失期
  name_en: Churned
  category: lifecycle
  kind: lifecycle
  tag_group: lifecycle_stage
  rule: coalesce(orders_365d, 0) = 0
  requires: [orders_365d]
  owner: sales-ops
  version: 1
  status: active
  description: No order in the last 365 days.
- code: lifecycle_acquisition
  name_cn: 获客期
  name_en: Acquisition
  category: lifecycle
  kind: lifecycle
  tag_group: lifecycle_stage
  rule: orders_prev_365d = 0 and orders_180d = orders_365d
  requires: [orders_prev_365d, orders_180d, orders_365d]
  owner: sales-ops
  version: 1
  status: active
  description: First order within the last 180 days (nothing before).
- code: lifecycle_decline
  name_cn: 衰退期
  name_en: Decline
  category: lifecycle
  kind: lifecycle
  tag_group: lifecycle_stage
  rule: orders_180d = 0 or (orders_prev_365d >= 2 and orders_365d < 0.5 * orders_prev_365d)
  requires: [orders_180d, orders_prev_365d, orders_365d]
  owner: sales-ops
  version: 1
  status: active
  description: No order in 180 days, or fewer than half the orders of the year before.
- code: lifecycle_growth
  name_cn: 成长期
  name_en: Growth
  category: lifecycle
  kind: lifecycle
  tag_group: lifecycle_stage
  rule: orders_prev_365d = 0 or orders_365d >= 1.2 * orders_prev_365d
  requires: [orders_prev_365d, orders_365d]
  owner: sales-ops
  version: 1
  status: active
  description: In the first year (first order 180–365 days ago), or ordering 20%+ more than the year before.
- code: lifecycle_maturity
  name_cn: 成熟期
  name_en: Maturity
  category: lifecycle
  kind: lifecycle
  tag_group: lifecycle_stage
  rule: 'true'
  requires: []
  owner: sales-ops
  version: 1
  status: active
  description: Buying steadily (none of the above).
# ---------------------------------------------------------------- RFM segments (first match wins)
- code: rfm_new
  name_cn: 新客户
  name_en: New
  category: value
  kind: rfm
  tag_group: rfm_segment
  rule: orders_365d > 0 and orders_prev_365d = 0 and orders_90d = orders_365d
  requires: [orders_365d, orders_prev_365d, orders_90d]
  owner: sales-ops
  version: 1
  status: active
  description: All of its orders fall in the last 90 days.
- code: rfm_champions
  name_cn: 重要价值客户
  name_en: Champions
  category: value
  kind: rfm
  tag_group: rfm_segment
  rule: recency_score >= 4 and frequency_score >= 4 and monetary_score >= 4
  requires: []
  owner: sales-ops
  version: 1
  status: active
  description: Bought recently, often and much (R, F and M quintile 4–5).
- code: rfm_loyal
  name_cn: 忠诚客户
  name_en: Loyal
  category: value
  kind: rfm
  tag_group: rfm_segment
  rule: recency_score >= 3 and frequency_score >= 4
  requires: []
  owner: sales-ops
  version: 1
  status: active
  description: Buys often and not long ago (F 4–5, R 3–5), not a champion.
- code: rfm_at_risk
  name_cn: 流失风险客户
  name_en: At risk
  category: value
  kind: rfm
  tag_group: rfm_segment
  rule: recency_score <= 2 and frequency_score >= 3
  requires: []
  raises: churn_warning
  owner: sales-ops
  version: 1
  status: active
  description: Used to buy often (F 3–5) but not lately (R 1–2).
- code: rfm_hibernating
  name_cn: 沉睡客户
  name_en: Hibernating
  category: value
  kind: rfm
  tag_group: rfm_segment
  rule: recency_score <= 2
  requires: []
  owner: sales-ops
  version: 1
  status: active
  description: Bought rarely and not lately (R 1–2, F 1–2).
- code: rfm_potential
  name_cn: 潜力客户
  name_en: Potential
  category: value
  kind: rfm
  tag_group: rfm_segment
  rule: 'true'
  requires: []
  owner: sales-ops
  version: 1
  status: active
  description: Bought recently but not yet often (R 3–5, F 1–3).
# ---------------------------------------------------------------- value tiers (first match wins)
- code: value_tier_none
  name_cn: 无贡献
  name_en: No value
  category: value
  kind: value
  tag_group: value_tier
  rule: coalesce(revenue_cny_365d, 0) <= 0
  requires: []
  owner: finance
  version: 1
  status: active
  description: No order value in the last 365 days.
- code: value_tier_high
  name_cn: 高价值
  name_en: High value
  category: value
  kind: value
  tag_group: value_tier
  rule: revenue_percentile >= 0.8
  requires: []
  owner: finance
  version: 1
  status: active
  description: Top 20% of customers with revenue by 365-day order value, on that snapshot date.
- code: value_tier_medium
  name_cn: 中价值
  name_en: Medium value
  category: value
  kind: value
  tag_group: value_tier
  rule: revenue_percentile >= 0.5
  requires: []
  owner: finance
  version: 1
  status: active
  description: The next 30% by 365-day order value.
- code: value_tier_low
  name_cn: 低价值
  name_en: Low value
  category: value
  kind: value
  tag_group: value_tier
  rule: 'true'
  requires: []
  owner: finance
  version: 1
  status: active
  description: The bottom half of customers with revenue by 365-day order value.
# ---------------------------------------------------------------- model tags (ml.customer_scores)
- code: churn_risk_high
  name_cn: 高流失风险
  name_en: High churn risk
  category: risk
  kind: model
  tag_group: churn_risk
  rule: churn_180d:high
  requires: []
  raises: churn_warning
  owner: data-science
  version: 1
  status: active
  description: The churn model (no order in the next 180 days) puts the customer in its high band.
- code: churn_risk_medium
  name_cn: 中流失风险
  name_en: Medium churn risk
  category: risk
  kind: model
  tag_group: churn_risk
  rule: churn_180d:medium
  requires: []
  owner: data-science
  version: 1
  status: active
  description: Churn model medium band.
- code: churn_risk_low
  name_cn: 低流失风险
  name_en: Low churn risk
  category: risk
  kind: model
  tag_group: churn_risk
  rule: churn_180d:low
  requires: []
  owner: data-science
  version: 1
  status: active
  description: Churn model low band.
{%- for grade in ['A', 'B', 'C', 'D', 'E'] %}
- code: credit_grade_{{ grade | lower }}
  name_cn: 信用等级{{ grade }}
  name_en: Credit grade {{ grade }}
  category: risk
  kind: model
  tag_group: credit_grade
  rule: default_90dpd_180d:{{ grade }}
  requires: []
  {%- if grade in ['D', 'E'] %}
  raises: credit_warning
  {%- endif %}
  owner: credit
  version: 1
  status: active
  description: >-
    The default model (an invoice 90+ days past due within 180 days) grades the customer {{ grade }}
    (A best, E worst).
{%- endfor %}
- code: purchase_intent_hot
  name_cn: 购买意向热
  name_en: Hot purchase intent
  category: intent
  kind: model
  tag_group: purchase_intent
  rule: purchase_30d:hot
  requires: []
  owner: data-science
  version: 1
  status: active
  description: The purchase model (an order in the next 30 days) rates the customer hot.
- code: purchase_intent_warm
  name_cn: 购买意向温
  name_en: Warm purchase intent
  category: intent
  kind: model
  tag_group: purchase_intent
  rule: purchase_30d:warm
  requires: []
  owner: data-science
  version: 1
  status: active
  description: Purchase model warm band.
- code: purchase_intent_cold
  name_cn: 购买意向冷
  name_en: Cold purchase intent
  category: intent
  kind: model
  tag_group: purchase_intent
  rule: purchase_30d:cold
  requires: []
  owner: data-science
  version: 1
  status: active
  description: Purchase model cold band.
- code: model_segment
  name_cn: 模型分群
  name_en: Model segment
  category: behaviour
  kind: segment
  tag_group: model_segment
  rule: ml.customer_segments.segment_name
  requires: []
  owner: data-science
  version: 1
  status: active
  description: The customer's segment from the clustering model; the tag value is the segment name.
{%- endset -%}
{{ return(fromyaml(catalog_yaml)) if return is defined else '' }}
{% endmacro %}
