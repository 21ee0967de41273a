with source as (
    select * from {{ source('crm', 'crm__interactions') }}
),

final as (
    select
        interaction_id,
        account_id,
        channel as interaction_channel,
        direction as interaction_direction,
        occurred_at,
        responded_at,
        subject as interaction_subject,
        notes as interaction_notes,
        sales_rep,
        {{ version_columns(['interaction_id']) }}
    from source
)

select * from final
