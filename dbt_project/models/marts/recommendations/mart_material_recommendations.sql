{{ config(post_hook="create index on {{ this }} (cid, as_of_date)") }}
{#- Materials to offer each customer: ones it has not bought that customers with a similar basket
    did (item-to-item co-occurrence over the customers' bought materials, 730 days before the
    latest snapshot). For a candidate material, every material the customer does buy is an anchor;
    the score is the best anchor's confidence (share of the anchor's buyers who also buy the
    candidate), and that anchor is the reason shown to sales. Pairs with fewer than
    var('recommendation_min_co_buyers') shared buyers are ignored as noise; the top
    var('recommendation_top_n') per customer are kept. -#}

with bought as (
    select * from {{ ref('int_customer_materials_bought') }}
),

customers as (
    select count(distinct cid) as customer_count from bought
),

material_buyers as (
    select
        material_id,
        max(material_family) as material_family,
        max(material_name_cn) as material_name_cn,
        max(material_name_en) as material_name_en,
        count(distinct cid) as buyers
    from bought
    group by material_id
),

-- anchor -> candidate: how many of the anchor's buyers also buy the candidate
material_pairs as (
    select
        anchor.material_id as anchor_material_id,
        candidate.material_id,
        count(distinct anchor.cid) as co_buyers
    from bought as anchor
    inner join bought as candidate
        on anchor.cid = candidate.cid and anchor.material_id <> candidate.material_id
    group by anchor.material_id, candidate.material_id
    having count(distinct anchor.cid) >= {{ var('recommendation_min_co_buyers') }}
),

pair_scores as (
    select
        p.anchor_material_id,
        p.material_id,
        p.co_buyers,
        a.buyers as anchor_buyers,
        p.co_buyers::numeric / a.buyers as confidence,
        (p.co_buyers::numeric / a.buyers) / (c.buyers::numeric / n.customer_count) as lift
    from material_pairs as p
    inner join material_buyers as a on p.anchor_material_id = a.material_id
    inner join material_buyers as c on p.material_id = c.material_id
    cross join customers as n
),

-- every candidate a customer has not bought, through each anchor it has
candidates as (
    select
        b.cid,
        b.as_of_date,
        s.material_id,
        s.anchor_material_id,
        s.co_buyers,
        s.anchor_buyers,
        s.confidence,
        s.lift,
        row_number() over (
            partition by b.cid, s.material_id
            order by s.confidence desc, s.lift desc, s.co_buyers desc, s.anchor_material_id asc
        ) as anchor_rank
    from bought as b
    inner join pair_scores as s
        on b.material_id = s.anchor_material_id
    where not exists (
        select 1 from bought as owned
        where owned.cid = b.cid and owned.material_id = s.material_id
    )
),

ranked as (
    select
        *,
        row_number() over (
            partition by cid
            order by confidence desc, lift desc, co_buyers desc, material_id asc
        ) as recommendation_rank
    from candidates
    where anchor_rank = 1
),

final as (
    select
        r.cid::text as cid,
        r.as_of_date::date as as_of_date,
        r.recommendation_rank::integer as recommendation_rank,
        r.material_id::text as material_id,
        m.material_family::text as material_family,
        m.material_name_cn::text as material_name_cn,
        m.material_name_en::text as material_name_en,
        round(r.confidence, 4)::numeric(8, 4) as score,
        round(r.lift, 4)::numeric(12, 4) as lift,
        r.co_buyers::integer as co_buyers,
        r.anchor_buyers::integer as anchor_buyers,
        r.anchor_material_id::text as anchor_material_id,
        a.material_name_en::text as anchor_material_name_en,
        (
            'bought by ' || round(100 * r.confidence)::integer || '% of customers who buy '
            || coalesce(a.material_name_en, r.anchor_material_id)
            || ' (' || r.co_buyers || ' of ' || r.anchor_buyers || ')'
        )::text as reason,
        (
            '购买' || coalesce(a.material_name_cn, r.anchor_material_id) || '的客户中有'
            || round(100 * r.confidence)::integer || '%也购买了此材料'
        )::text as reason_cn
    from ranked as r
    inner join material_buyers as m on r.material_id = m.material_id
    inner join material_buyers as a on r.anchor_material_id = a.material_id
    where r.recommendation_rank <= {{ var('recommendation_top_n') }}
)

select * from final
