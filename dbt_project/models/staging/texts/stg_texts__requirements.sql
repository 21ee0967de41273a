{#- texts.requirements (written by the text stage), or no row before its first run. Ephemeral: inlined
    where it is used, so a model built after the text stage sees that run. -#}

with source as (
    select * from {{ relation_or_empty('texts', 'requirements') }}
),

final as (
    select
        doc_id,
        seq,
        property,
        comparator,
        value_si,
        value_high_si,
        si_unit,
        value_written,
        unit_written,
        is_measured,
        family
    from source
)

select * from final
