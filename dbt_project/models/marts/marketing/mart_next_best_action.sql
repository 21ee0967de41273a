{#- Who to contact next, and with which campaign: per customer, the campaign goal whose expected
    uplift (the uplift champion's, ml.uplift_scores, on the latest snapshot it scored) is the
    highest. A customer is "persuadable" when that uplift reaches var('nba_min_uplift'),
    "do_not_disturb" when every goal's uplift is at or below minus that (contact makes buying less
    likely), else a "sure_thing" (buys anyway: p_without at least var('nba_sure_thing_probability'))
    or a "lost_cause". Only persuadable customers get an action. Empty without uplift scores. -#}

with scores as (
    select * from {{ ref('stg_ml__uplift_scores') }}
),

latest as (
    select max(as_of_date) as as_of_date from scores
),

ranked as (
    select
        s.*,
        row_number() over (
            partition by s.cid order by s.uplift desc, s.campaign_goal asc
        ) as goal_rank
    from scores as s
    inner join latest as l on s.as_of_date = l.as_of_date
),

best as (
    select * from ranked
    where goal_rank = 1
),

second as (
    select cid, campaign_goal, uplift from ranked
    where goal_rank = 2
),

classified as (
    select
        b.*,
        s.campaign_goal as second_goal,
        s.uplift as second_uplift,
        case
            when b.uplift >= {{ var('nba_min_uplift') }} then 'persuadable'
            when b.uplift <= -{{ var('nba_min_uplift') }} then 'do_not_disturb'
            when b.p_without >= {{ var('nba_sure_thing_probability') }} then 'sure_thing'
            else 'lost_cause'
        end as customer_class
    from best as b
    left join second as s on b.cid = s.cid
),

final as (
    select
        cid,
        as_of_date,
        customer_class,
        case when customer_class = 'persuadable' then campaign_goal end as next_best_action,
        campaign_goal as best_goal,
        campaign_channel,
        campaign_offer,
        campaign_content,
        round(uplift::numeric, 4)::numeric(8, 4) as expected_uplift,
        round(p_without::numeric, 4)::numeric(8, 4) as p_without,
        round(p_with::numeric, 4)::numeric(8, 4) as p_with,
        second_goal,
        round(second_uplift::numeric, 4)::numeric(8, 4) as second_uplift,
        case customer_class
            when 'persuadable'
                then
                    '联系可提高下单概率 ' || to_char(uplift * 100, 'FM990.0') || ' 个百分点（'
                    || campaign_goal || ' 活动，' || coalesce(campaign_channel, '-') || '）'
            when 'do_not_disturb' then '联系反而降低下单概率：不要打扰'
            when 'sure_thing' then '不联系也很可能下单：无需营销资源'
            else '联系与否都不太可能下单'
        end as reason_zh,
        case customer_class
            when 'persuadable'
                then
                    'a ' || campaign_goal || ' campaign (' || coalesce(campaign_channel, '-')
                    || ') raises the chance of an order by ' || to_char(uplift * 100, 'FM990.0')
                    || ' points'
            when 'do_not_disturb' then 'contact makes an order less likely: do not disturb'
            when 'sure_thing' then 'likely to order without a campaign: spend elsewhere'
            else 'unlikely to order with or without a campaign'
        end as reason_en,
        model_version
    from classified
)

select * from final
