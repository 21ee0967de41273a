{#- Every score the champion models gave a customer, one row per (cid, as_of_date, target): the
    profile service's score series and its "band changed" feed (/changes). -#}
{{ config(post_hook="create index on {{ this }} (cid, target, as_of_date)") }}

with scores as (
    select * from {{ ref('stg_ml__customer_scores') }}
),

final as (
    select
        cid,
        as_of_date,
        task as target,
        score::double precision as score,
        band,
        reason_1,
        reason_2,
        reason_3,
        model_name,
        model_version
    from scores
)

select * from final
