with source as (
    select * from {{ source('loader', '_batches') }}
),

final as (
    select
        source as source_system,
        batch_id,
        coalesce(extracted_at, first_loaded_at, loaded_at) as known_at,
        loaded_at,
        status as batch_status
    from source
)

select * from final
