{{ config(post_hook="create index on {{ this }} (cid)") }}
{#- The evidence of each customer's current semantic tags (docs/text.md, "Evidence"): the texts
    that raised it, read the way the tag's rule reads them. A tag's evidence follows from the
    text features its rule requires (tag_catalog.requires_columns): text_requirements_365d ->
    texts stating a technical requirement; text_<topic>_365d -> texts of that topic;
    text_complaints_365d -> tickets and test feedback of a complaint topic. Only texts known in
    the 365 days up to the tag's snapshot count, as in the features. The most recent
    `text_evidence_per_tag` of them are kept, each with its masked excerpt (phone numbers and
    e-mail addresses masked) and the requirements it states. -#}

{%- set per_tag = var('text_evidence_per_tag') %}
{%- set complaint_topics = var('text_complaint_topics') %}

with catalog as (
    select * from {{ ref('tag_catalog') }}
),

customer_tags as (
    select * from {{ ref('mart_customer_tags') }}
),

documents as (
    select * from {{ ref('int_text_documents_linked') }}
),

stated as (
    select * from {{ ref('stg_texts__requirements') }}
    where not is_measured
),

evidence_rules as (
    -- each text feature a tag's rule requires, but the denominators (all, usable documents)
    select distinct
        c.tag_code,
        case
            when f.feature = 'text_requirements_365d' then 'requirements'
            when f.feature = 'text_complaints_365d' then 'complaints'
            else 'topic'
        end as evidence_kind,
        substring(f.feature from '^text_(.+)_365d$') as topic_code
    from catalog as c
    cross join lateral unnest(string_to_array(c.requires_columns, ',')) as f (feature)
    where
        f.feature ~ '^text_.+_365d$'
        and f.feature not in ('text_documents_365d', 'text_usable_documents_365d')
),

current_tags as (
    select distinct
        t.cid,
        t.tag_code,
        t.as_of_date,
        {{ as_of_cutoff('t.as_of_date') }} as cutoff_at
    from customer_tags as t
    where t.is_current and t.tag_code in (select er.tag_code from evidence_rules as er)
),

requirements as (
    select
        doc_id,
        count(*)::integer as requirement_count,
        jsonb_agg(
            jsonb_build_object(
                'property', property,
                'comparator', comparator,
                'value_si', value_si,
                'value_high_si', value_high_si,
                'si_unit', si_unit,
                'written', value_written
            )
            order by seq
        ) as requirements
    from stated
    group by doc_id
),

matched as (
    select distinct on (t.cid, t.tag_code, d.doc_id)
        t.cid,
        t.tag_code,
        t.as_of_date,
        d.doc_id,
        d.source_system,
        d.source_table,
        d.source_record_id,
        d.column_name,
        d.known_at,
        d.topic_code,
        d.topic_name_zh,
        d.topic_name_en,
        d.body,
        r.requirement_count,
        r.requirements
    from current_tags as t
    inner join evidence_rules as er on t.tag_code = er.tag_code
    inner join documents as d
        on
            t.cid = d.cid
            and t.cutoff_at >= d.known_at
            and t.cutoff_at - interval '365 days' < d.known_at
    left join requirements as r on d.doc_id = r.doc_id
    where
        (er.evidence_kind = 'requirements' and r.doc_id is not null)
        or (er.evidence_kind = 'topic' and d.topic_code = er.topic_code)
        or (
            er.evidence_kind = 'complaints'
            and d.source_system in ('service', 'lab')
            and d.topic_code in ('{{ complaint_topics | join("', '") }}')
        )
    order by t.cid asc, t.tag_code asc, d.doc_id asc
),

ranked as (
    select
        *,
        row_number() over (
            partition by cid, tag_code order by known_at desc, doc_id asc
        ) as evidence_rank,
        count(*) over (partition by cid, tag_code) as evidence_documents
    from matched
),

final as (
    select
        cid::text as cid,
        tag_code::text as tag_code,
        as_of_date::date as as_of_date,
        evidence_rank::integer as evidence_rank,
        evidence_documents::integer as evidence_documents,
        doc_id::text as doc_id,
        source_system::text as source_system,
        source_table::text as source_table,
        source_record_id::text as source_record_id,
        column_name::text as column_name,
        known_at::timestamptz as known_at,
        topic_code::text as topic_code,
        topic_name_zh::text as topic_name_zh,
        topic_name_en::text as topic_name_en,
        case
            when length(body) > 280 then left({{ mask_free_text('body') }}, 280) || '…'
            else {{ mask_free_text('body') }}
        end::text as excerpt,
        coalesce(requirement_count, 0)::integer as requirement_count,
        coalesce(requirements, '[]'::jsonb) as requirements
    from ranked
    where evidence_rank <= {{ per_tag }}
)

select * from final
