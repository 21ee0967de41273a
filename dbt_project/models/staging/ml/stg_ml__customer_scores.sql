{#- The champion models' scores (ml.customer_scores, written by models_ml's scoring), or no row
    while the table does not exist yet (a fresh warehouse, before the first scoring run). The one
    place the marts' "existing or empty" fallback lives. Ephemeral: inlined into each mart when
    the mart is built, so a mart built after scoring sees the scores of that run. -#}

with source as (
    select * from {{ relation_or_empty('ml', 'customer_scores') }}
),

final as (
    select
        cid,
        as_of_date,
        task,
        score,
        band,
        reason_1,
        reason_2,
        reason_3,
        model_name,
        model_version,
        model_alias
    from source
)

select * from final
