{#- Every free text the sources hold (the contract's free_text columns), once per distinct text
    of a record's column, with when it first became known: the text stage's input (texts/,
    docs/text.md). doc_id is the hash of where it was written and what it says, so a text that
    changes is a new document and a re-run finds nothing new. -#}
{%- set free_texts = [
    ('service', 'tickets', 'ticket_id', 'description', 'stg_service__tickets', 'ticket_description'),
    ('service', 'tickets', 'ticket_id', 'resolution_note', 'stg_service__tickets', 'ticket_resolution_note'),
    ('crm', 'interactions', 'interaction_id', 'notes', 'stg_crm__interactions', 'interaction_notes'),
    ('lab', 'test_feedback', 'feedback_id', 'comments', 'stg_lab__test_feedback', 'feedback_comments'),
    ('projects', 'projects', 'project_id', 'description', 'stg_projects__projects', 'project_description'),
] %}

with written as (
    {%- for source_system, source_table, key, column_name, model, field in free_texts %}
        select
            '{{ source_system }}' as source_system,
            '{{ source_table }}' as source_table,
            {{ key }} as source_record_id,
            '{{ column_name }}' as column_name,
            {{ field }} as body,
            known_at
        from {{ ref(model) }}
        where {{ field }} is not null
        {%- if not loop.last %}
            union all
        {%- endif %}
    {%- endfor %}
),

documents as (
    select
        source_system,
        source_table,
        source_record_id,
        column_name,
        body,
        min(known_at) as known_at
    from written
    group by source_system, source_table, source_record_id, column_name, body
),

final as (
    select
        md5(concat_ws('|', source_system, source_table, source_record_id, column_name, body))
            as doc_id,
        source_system,
        source_table,
        source_record_id,
        column_name,
        known_at,
        body
    from documents
)

select * from final
