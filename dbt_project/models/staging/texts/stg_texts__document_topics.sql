{#- texts.document_topics (written by the text stage), or no row before its first run. Ephemeral: inlined
    where it is used, so a model built after the text stage sees that run. -#}

with source as (
    select * from {{ relation_or_empty('texts', 'document_topics') }}
),

final as (
    select
        doc_id,
        topic_id,
        weight
    from source
)

select * from final
