with source as (
    select * from {{ source('lab', 'lab__test_feedback') }}
),

final as (
    select
        feedback_id,
        request_id,
        received_at,
        result as test_result,
        comments as feedback_comments,
        {{ version_columns(['feedback_id']) }}
    from source
)

select * from final
