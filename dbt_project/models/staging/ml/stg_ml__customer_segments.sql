{#- The customers' segments (ml.customer_segments, written by models_ml's segmentation), or no
    row while the table does not exist yet. Ephemeral like stg_ml__customer_scores. -#}

with source as (
    select * from {{ relation_or_empty('ml', 'customer_segments') }}
),

final as (
    select
        cid,
        as_of_date,
        segment_id,
        segment_name,
        pc1,
        pc2
    from source
)

select * from final
