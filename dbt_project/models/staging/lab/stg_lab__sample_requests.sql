with source as (
    select * from {{ source('lab', 'lab__sample_requests') }}
),

final as (
    select
        request_id,
        requester_org,
        contact_name,
        phone,
        email,
        material_id,
        purpose as request_purpose,
        spec_params,
        spec_tolerance_pct,
        requested_at,
        shipped_at,
        {{ version_columns(['request_id']) }}
    from source
)

select * from final
