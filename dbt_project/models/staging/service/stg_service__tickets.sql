with source as (
    select * from {{ source('service', 'service__tickets') }}
),

final as (
    select
        ticket_id,
        customer_name,
        erp_customer_code,
        contact_phone,
        contact_email,
        category as ticket_category,
        severity as ticket_severity,
        description as ticket_description,
        resolution_note as ticket_resolution_note,
        opened_at,
        closed_at,
        satisfaction,
        {{ version_columns(['ticket_id']) }}
    from source
)

select * from final
