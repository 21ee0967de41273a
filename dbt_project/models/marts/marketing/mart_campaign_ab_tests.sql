{#- The A/B test of every campaign whose window has closed, per metric: treated against held-out
    members, the difference with its 90 % interval (normal approximation, unpooled variances:
    for a rate this is the Wald interval of a difference of proportions), the same difference
    adjusted for each member's pre-period behaviour (CUPED: y - theta * (x - mean x), theta from
    both arms together), the minimum effect the sample could detect with 80 % power, and a
    verdict in Chinese and English. scope 'goal' pools the campaigns of one lifecycle strategy
    (acquire, grow, retain): weighted by members, variances added. The verdict reads the CUPED
    interval when there is one, else the plain one. -#}
{%- set z = 1.6448536269514722 %}
{%- set z_power = 0.8416212335729143 %}
{%- set metrics = {
    'conversion': {'y': 'converted::int', 'x': 'orders_90d_before', 'window': 'window_closed',
                   'where': 'true', 'unit': 'rate'},
    'revenue_90d': {'y': 'revenue_90d_cny', 'x': 'revenue_90d_before_cny',
                    'window': 'window_90d_closed', 'where': 'true', 'unit': 'cny'},
    'retention_90d': {'y': 'retained_90d::int', 'x': 'orders_90d_before',
                      'window': 'window_90d_closed', 'where': 'retained_90d is not null',
                      'unit': 'rate'},
} %}

with members as (
    select * from {{ ref('mart_campaign_members') }}
    where assignment in ('treatment', 'holdout')
),

observations as (
    {%- for name, m in metrics.items() %}
        select
            campaign_id,
            campaign_goal,
            assignment,
            '{{ name }}' as metric,
            '{{ m.unit }}' as metric_unit,
            ({{ m.y }})::double precision as y,
            ({{ m.x }})::double precision as x
        from members
        where {{ m.window }} and {{ m.where }}
        {%- if not loop.last %}
            union all
        {%- endif %}
    {%- endfor %}
),

thetas as (
    select
        campaign_id,
        metric,
        avg(x) as mean_x,
        coalesce(covar_samp(y, x) / nullif(var_samp(x), 0), 0) as theta
    from observations
    group by campaign_id, metric
),

adjusted as (
    select o.*, o.y - t.theta * (o.x - t.mean_x) as y_cuped, t.theta
    from observations as o
    inner join thetas as t on o.campaign_id = t.campaign_id and o.metric = t.metric
),

arms as (
    select
        campaign_id,
        campaign_goal,
        metric,
        metric_unit,
        min(theta) as theta,
        count(*) filter (where assignment = 'treatment')::integer as n_treatment,
        count(*) filter (where assignment = 'holdout')::integer as n_holdout,
        avg(y) filter (where assignment = 'treatment') as mean_treatment,
        avg(y) filter (where assignment = 'holdout') as mean_holdout,
        var_samp(y) filter (where assignment = 'treatment') as var_treatment,
        var_samp(y) filter (where assignment = 'holdout') as var_holdout,
        avg(y_cuped) filter (where assignment = 'treatment') as cuped_mean_treatment,
        avg(y_cuped) filter (where assignment = 'holdout') as cuped_mean_holdout,
        var_samp(y_cuped) filter (where assignment = 'treatment') as cuped_var_treatment,
        var_samp(y_cuped) filter (where assignment = 'holdout') as cuped_var_holdout
    from adjusted
    group by campaign_id, campaign_goal, metric, metric_unit
),

per_campaign as (
    select
        'campaign' as scope,
        campaign_id as scope_id,
        metric,
        metric_unit,
        1 as campaigns,
        n_treatment,
        n_holdout,
        mean_treatment,
        mean_holdout,
        mean_treatment - mean_holdout as effect,
        sqrt(var_treatment / nullif(n_treatment, 0) + var_holdout / nullif(n_holdout, 0))
            as std_error,
        cuped_mean_treatment - cuped_mean_holdout as cuped_effect,
        sqrt(
            cuped_var_treatment / nullif(n_treatment, 0)
            + cuped_var_holdout / nullif(n_holdout, 0)
        ) as cuped_std_error,
        theta as cuped_theta,
        campaign_goal
    from arms
),

per_goal as (
    -- a strategy's campaigns pooled: members-weighted effects, variances added
    select
        'goal' as scope,
        campaign_goal as scope_id,
        metric,
        min(metric_unit) as metric_unit,
        count(*)::integer as campaigns,
        sum(n_treatment)::integer as n_treatment,
        sum(n_holdout)::integer as n_holdout,
        sum(mean_treatment * (n_treatment + n_holdout)) / sum(n_treatment + n_holdout)
            as mean_treatment,
        sum(mean_holdout * (n_treatment + n_holdout)) / sum(n_treatment + n_holdout)
            as mean_holdout,
        sum(effect * (n_treatment + n_holdout)) / sum(n_treatment + n_holdout) as effect,
        sqrt(sum(std_error ^ 2 * (n_treatment + n_holdout) ^ 2))
        / sum(n_treatment + n_holdout) as std_error,
        sum(cuped_effect * (n_treatment + n_holdout)) / sum(n_treatment + n_holdout)
            as cuped_effect,
        sqrt(sum(cuped_std_error ^ 2 * (n_treatment + n_holdout) ^ 2))
        / sum(n_treatment + n_holdout) as cuped_std_error,
        null::double precision as cuped_theta,
        campaign_goal
    from per_campaign
    where std_error is not null and cuped_std_error is not null
    group by campaign_goal, metric
),

tests as (
    select * from per_campaign
    union all
    select * from per_goal
),

judged as (
    select
        *,
        effect - {{ z }} * std_error as ci_low,
        effect + {{ z }} * std_error as ci_high,
        cuped_effect - {{ z }} * cuped_std_error as cuped_ci_low,
        cuped_effect + {{ z }} * cuped_std_error as cuped_ci_high,
        1 - (cuped_std_error / nullif(std_error, 0)) ^ 2 as variance_reduction,
        ({{ z }} + {{ z_power }}) * std_error as minimum_detectable_effect,
        coalesce(cuped_effect - {{ z }} * cuped_std_error, effect - {{ z }} * std_error)
            as verdict_low,
        coalesce(cuped_effect + {{ z }} * cuped_std_error, effect + {{ z }} * std_error)
            as verdict_high
    from tests
),

worded as (
    select
        *,
        case
            when verdict_low is null then 'too_small'
            when verdict_low > 0 then 'worked'
            when verdict_high < 0 then 'backfired'
            else 'inconclusive'
        end as verdict,
        case when metric_unit = 'rate' then 100 else 1 end as shown_scale,
        case when metric_unit = 'rate' then 'pp' else 'CNY' end as shown_unit,
        case when metric_unit = 'rate' then ' 个百分点' else ' 元' end as shown_unit_cn
    from judged
),

final as (
    select
        scope,
        scope_id,
        campaign_goal,
        metric,
        metric_unit,
        campaigns,
        n_treatment,
        n_holdout,
        mean_treatment,
        mean_holdout,
        effect,
        std_error,
        ci_low,
        ci_high,
        cuped_effect,
        cuped_std_error,
        cuped_ci_low,
        cuped_ci_high,
        cuped_theta,
        variance_reduction,
        minimum_detectable_effect,
        0.9::double precision as confidence_level,
        verdict,
        case verdict
            when 'worked'
                then format(
                    '有效：%s 提升 %s（90%% 置信区间 %s 至 %s），实验组 %s 人、对照组 %s 人。',
                    metric, round((effect * shown_scale)::numeric, 2) || shown_unit_cn,
                    round((verdict_low * shown_scale)::numeric, 2),
                    round((verdict_high * shown_scale)::numeric, 2), n_treatment, n_holdout
                )
            when 'backfired'
                then format(
                    '适得其反：%s 下降 %s（90%% 置信区间 %s 至 %s），实验组 %s 人、对照组 %s 人。',
                    metric, round((-effect * shown_scale)::numeric, 2) || shown_unit_cn,
                    round((verdict_low * shown_scale)::numeric, 2),
                    round((verdict_high * shown_scale)::numeric, 2), n_treatment, n_holdout
                )
            when 'inconclusive'
                then format(
                    '尚无定论：%s 差异 %s，90%% 置信区间 %s 至 %s 含 0；样本量下可检出的最小效应约 %s。',
                    metric, round((effect * shown_scale)::numeric, 2) || shown_unit_cn,
                    round((verdict_low * shown_scale)::numeric, 2),
                    round((verdict_high * shown_scale)::numeric, 2),
                    round((minimum_detectable_effect * shown_scale)::numeric, 2) || shown_unit_cn
                )
            else '样本太小，无法判断（每组至少需 2 人）。'
        end as verdict_cn,
        case verdict
            when 'worked'
                then format(
                    'Worked: %s up %s (90%% interval %s to %s), %s treated vs %s held out.',
                    metric, round((effect * shown_scale)::numeric, 2) || ' ' || shown_unit,
                    round((verdict_low * shown_scale)::numeric, 2),
                    round((verdict_high * shown_scale)::numeric, 2), n_treatment, n_holdout
                )
            when 'backfired'
                then format(
                    'Backfired: %s down %s (90%% interval %s to %s), %s treated vs %s held out.',
                    metric, round((-effect * shown_scale)::numeric, 2) || ' ' || shown_unit,
                    round((verdict_low * shown_scale)::numeric, 2),
                    round((verdict_high * shown_scale)::numeric, 2), n_treatment, n_holdout
                )
            when 'inconclusive'
                then format(
                    'Inconclusive: %s differs by %s; the 90%% interval %s to %s includes 0; '
                    'at this sample size the smallest detectable effect is about %s.',
                    metric, round((effect * shown_scale)::numeric, 2) || ' ' || shown_unit,
                    round((verdict_low * shown_scale)::numeric, 2),
                    round((verdict_high * shown_scale)::numeric, 2),
                    round((minimum_detectable_effect * shown_scale)::numeric, 2) || ' ' || shown_unit
                )
            else 'Too small to judge (each arm needs at least 2 members).'
        end as verdict_en
    from worded
)

select * from final
