{#- Complaint clusters for R&D and quality (docs/text.md): per material family, month and
    complaint topic (as the text stage discovered and named it), the tickets and test feedback
    in it, how many customers wrote them, the change against the month before and the last
    three months against the three before, and the three texts most of the topic (phone
    numbers and e-mail addresses in them masked). -#}

{%- set complaint_topics = var('text_complaint_topics') %}

with documents as (
    select * from {{ ref('int_text_documents_linked') }}
    where
        source_system in ('service', 'lab')
        and topic_code in ('{{ complaint_topics | join("', '") }}')
        and material_family is not null
),

topics as (
    select * from {{ ref('stg_texts__topics') }}
),

dated as (
    select
        *,
        date_trunc('month', known_at at time zone '{{ var("business_timezone") }}')::date as period_month
    from documents
),

counted as (
    select
        material_family,
        period_month,
        topic_code,
        min(topic_name_zh) as topic_name_zh,
        min(topic_name_en) as topic_name_en,
        count(*) as complaint_texts,
        count(distinct cid) as customers
    from dated
    group by material_family, period_month, topic_code
),

representatives as (
    select
        material_family,
        period_month,
        topic_code,
        array_agg({{ mask_free_text('body') }} order by topic_weight desc, doc_id asc) filter (
            where rank_in_cluster <= 3
        ) as representative_texts,
        array_agg(source_record_id order by topic_weight desc, doc_id asc) filter (
            where rank_in_cluster <= 3
        ) as representative_record_ids
    from (
        select
            *,
            row_number() over (
                partition by material_family, period_month, topic_code
                order by topic_weight desc, doc_id asc
            ) as rank_in_cluster
        from dated
    ) as ranked
    group by material_family, period_month, topic_code
),

trended as (
    select
        c.*,
        sum(c.complaint_texts) over (
            w range between interval '1 month' preceding and interval '1 month' preceding
        ) as complaint_texts_prev_month,
        sum(c.complaint_texts) over (w range between interval '2 months' preceding and current row)
            as complaint_texts_3m,
        sum(c.complaint_texts) over (
            w range between interval '5 months' preceding and interval '3 months' preceding
        ) as complaint_texts_prev_3m
    from counted as c
    window w as (partition by c.material_family, c.topic_code order by c.period_month)
),

final as (
    select
        t.material_family,
        t.period_month,
        t.topic_code,
        t.topic_name_zh,
        t.topic_name_en,
        t.complaint_texts::integer as complaint_texts,
        t.customers::integer as customers,
        (t.complaint_texts - coalesce(t.complaint_texts_prev_month, 0))::integer as change_vs_prev_month,
        t.complaint_texts_3m::integer as complaint_texts_3m,
        coalesce(t.complaint_texts_prev_3m, 0)::integer as complaint_texts_prev_3m,
        case
            when coalesce(t.complaint_texts_prev_3m, 0) = 0 then null
            else round(t.complaint_texts_3m::numeric / t.complaint_texts_prev_3m - 1, 4)
        end as trend_3m,
        tp.top_terms,
        r.representative_texts,
        r.representative_record_ids
    from trended as t
    inner join representatives as r
        on
            t.material_family = r.material_family
            and t.period_month = r.period_month
            and t.topic_code = r.topic_code
    left join topics as tp on t.topic_code = tp.topic_code
)

select * from final
