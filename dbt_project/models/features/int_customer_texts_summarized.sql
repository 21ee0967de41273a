{{
    config(
        materialized='incremental',
        unique_key='as_of_date',
        incremental_strategy='delete+insert',
    )
}}
{#- Text family (docs/text.md), one row per (cid, as_of_date) with a text known in the 365 days
    before the cutoff: the customer's documents, the requirements they state, and how many of
    them fall in each topic the text stage named (texts/lexicon/topics.yml). Point in time: a
    text counts from the batch that delivered it. Topics are the latest run's (refitted over
    all texts, unsupervised: no label leaks through them). -#}

with as_of_dates as (
    {{ feature_dates_to_build() }}
),

documents as (
    select * from {{ ref('int_text_documents_linked') }}
),

requirements as (
    select
        doc_id,
        count(*) as requirements
    from {{ ref('stg_texts__requirements') }}
    where not is_measured
    group by doc_id
),

known as (
    select
        d.as_of_date,
        doc.cid,
        doc.source_system,
        doc.topic_code,
        doc.word_count,
        coalesce(r.requirements, 0) as requirements
    from as_of_dates as d
    inner join documents as doc
        on
            d.cutoff_at >= doc.known_at
            and doc.known_at > d.cutoff_at - interval '365 days'
    left join requirements as r on doc.doc_id = r.doc_id
),

final as (
    select
        cid,
        as_of_date,
        count(*) as text_documents_365d,
        count(*) filter (where word_count > 0) as text_usable_documents_365d,
        sum(requirements) as text_requirements_365d,
        {%- for topic in var('text_topic_codes') %}
            count(*) filter (where topic_code = '{{ topic }}') as text_{{ topic }}_365d,
        {%- endfor %}
        count(*) filter (
            where
            source_system in ('service', 'lab')
            and topic_code in ('{{ var("text_complaint_topics") | join("', '") }}')
        ) as text_complaints_365d
    from known
    group by cid, as_of_date
)

select * from final
