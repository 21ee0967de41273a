{#- texts.documents (written by the text stage), or no row before its first run. Ephemeral: inlined
    where it is used, so a model built after the text stage sees that run. -#}

with source as (
    select * from {{ relation_or_empty('texts', 'documents') }}
),

final as (
    select
        doc_id,
        source_system,
        source_table,
        source_record_id,
        column_name,
        known_at,
        length_chars,
        flags,
        word_count,
        body,
        words,
        processed_at
    from source
)

select * from final
