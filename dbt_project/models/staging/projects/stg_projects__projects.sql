with source as (
    select * from {{ source('projects', 'projects__projects') }}
),

final as (
    select
        project_id,
        partner_name,
        partner_credit_code as partner_credit_code_raw,
        project_type,
        status as project_status,
        started_at,
        ended_at,
        budget_cny,
        description as project_description,
        updated_at,
        {{ version_columns(['project_id']) }}
    from source
)

select * from final
