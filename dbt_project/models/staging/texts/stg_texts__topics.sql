{#- texts.topics (written by the text stage), or no row before its first run. Ephemeral: inlined
    where it is used, so a model built after the text stage sees that run. -#}

with source as (
    select * from {{ relation_or_empty('texts', 'topics') }}
),

final as (
    select
        topic_id,
        topic_code,
        name_zh,
        name_en,
        top_terms,
        representative_doc_ids,
        documents
    from source
)

select * from final
