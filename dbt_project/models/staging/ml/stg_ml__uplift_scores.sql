{#- The uplift champion's scores per customer and campaign goal (ml.uplift_scores, written by
    models_ml.uplift_task), or no row while the table does not exist yet (no marketing export,
    or no campaign to learn from). Ephemeral like stg_ml__customer_scores. -#}

with source as (
    select * from {{ relation_or_empty('ml', 'uplift_scores') }}
),

final as (
    select
        cid,
        as_of_date,
        campaign_goal,
        campaign_channel,
        campaign_offer,
        campaign_content,
        uplift,
        p_without,
        p_with,
        model_name,
        model_version,
        model_alias
    from source
)

select * from final
