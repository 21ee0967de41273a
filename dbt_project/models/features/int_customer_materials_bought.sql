{#- What each customer bought, per material: the non-cancelled order lines placed in the 730 days
    before the latest snapshot's cutoff, in the versions known at that cutoff (as the features
    see them). The basket the material recommendations compare customers by. -#}

with latest_snapshot as (
    select
        as_of_date,
        cutoff_at
    from {{ ref('int_feature_dates_listed') }}
    order by as_of_date desc
    limit 1
),

orders as (
    select * from {{ ref('stg_erp__orders') }}
),

order_lines as (
    select * from {{ ref('stg_erp__order_lines') }}
),

materials as (
    select * from {{ ref('stg_catalog__materials') }}
    where superseded_at is null
),

customer_ids as (
    select * from {{ ref('customer_ids') }}
    where source_system = 'erp'
),

lines as (
    select
        ids.cid,
        s.as_of_date,
        l.material_id,
        o.order_id,
        o.ordered_at,
        l.amount_cny
    from latest_snapshot as s
    inner join orders as o
        on
            s.cutoff_at > o.ordered_at
            and o.ordered_at >= s.cutoff_at - interval '730 days'
            and {{ known_at_instant('s.cutoff_at', 'o') }}
            and not o.is_cancelled
    inner join order_lines as l
        on o.order_id = l.order_id and {{ known_at_instant('s.cutoff_at', 'l') }}
    inner join customer_ids as ids
        on o.customer_code = ids.source_record_id
),

final as (
    select
        lines.cid,
        lines.as_of_date,
        lines.material_id,
        m.material_family,
        m.material_name_cn,
        m.material_name_en,
        count(distinct lines.order_id) as orders,
        sum(lines.amount_cny)::numeric(18, 2) as amount_cny,
        max(lines.ordered_at) as last_ordered_at
    from lines
    left join materials as m
        on lines.material_id = m.material_id
    group by lines.cid, lines.as_of_date, lines.material_id, m.material_family, m.material_name_cn, m.material_name_en
)

select * from final
