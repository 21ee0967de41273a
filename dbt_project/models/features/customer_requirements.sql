{#- The technical requirements each customer stated in writing (tickets, notes, test feedback,
    project descriptions), one row per requirement, in SI units (docs/text.md): what product
    teams filter customers by ("who needs tensile strength >= 4.9 GPa"). Measured values the
    texts report (实测 ...) are not requirements and stay out. Point in time: stated_at is when
    the text became known. -#}

with documents as (
    select * from {{ ref('int_text_documents_linked') }}
),

requirements as (
    select * from {{ ref('stg_texts__requirements') }}
    where not is_measured
),

final as (
    select
        d.cid,
        r.doc_id,
        r.seq,
        d.known_at as stated_at,
        d.source_system,
        d.source_table,
        d.column_name,
        r.property,
        r.comparator,
        r.value_si,
        r.value_high_si,
        r.si_unit,
        r.value_written,
        r.unit_written,
        coalesce(r.family, d.material_family) as material_family
    from requirements as r
    inner join documents as d on r.doc_id = d.doc_id
)

select * from final
