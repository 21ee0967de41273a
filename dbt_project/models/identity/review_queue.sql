{#- Pairs a person should look at: scored within review_band of match_threshold, not yet
    decided in identity_review_decisions, ranked by how close they are to the threshold.
    Decide by adding a row to seeds/identity_review_decisions.csv (match / non_match). -#}
{%- set cfg = identity_config() -%}
with pairs as (
    select * from {{ ref('int_record_pairs_scored') }}
),

records as (
    select * from {{ ref('int_company_records_normalized') }}
),

customer_ids as (
    select * from {{ ref('customer_ids') }}
),

decisions as (
    select * from {{ ref('identity_review_decisions') }}
),

near_threshold as (
    select
        p.*,
        l.source_system as left_source_system,
        l.source_record_id as left_source_record_id,
        l.name_raw as left_name,
        r.source_system as right_source_system,
        r.source_record_id as right_source_record_id,
        r.name_raw as right_name
    from pairs as p
    inner join records as l on p.record_num_a = l.record_num
    inner join records as r on p.record_num_b = r.record_num
    where
        p.match_weight >= {{ cfg.match_threshold - cfg.review_band }}
        and p.match_weight < {{ cfg.match_threshold + cfg.review_band }}
        and l.is_customer_record
        and r.is_customer_record
),

undecided as (
    select n.*
    from near_threshold as n
    where not exists (
        select 1
        from decisions as d
        where
            (d.left_source_system = n.left_source_system and d.left_source_record_id = n.left_source_record_id
                and d.right_source_system = n.right_source_system and d.right_source_record_id = n.right_source_record_id)
            or (d.left_source_system = n.right_source_system and d.left_source_record_id = n.right_source_record_id
                and d.right_source_system = n.left_source_system and d.right_source_record_id = n.left_source_record_id)
    )
),

final as (
    select
        (row_number() over (
            order by abs(u.match_weight - {{ cfg.match_threshold }}), u.left_source_system, u.left_source_record_id,
            u.right_source_system, u.right_source_record_id
        ))::integer as review_rank,
        u.left_source_system,
        u.left_source_record_id,
        u.left_name,
        lc.cid as left_cid,
        u.right_source_system,
        u.right_source_record_id,
        u.right_name,
        rc.cid as right_cid,
        coalesce(lc.cid = rc.cid, false) as is_linked,
        u.match_weight,
        {%- for name, cmp in cfg.comparisons.items() %}
        {%- if cmp.function in ['similarity', 'name_similarity'] %}
        u.{{ name }}_similarity,
        {%- endif %}
        u.{{ name }}_level,
        {%- endfor %}
        u.levels
    from undecided as u
    left join customer_ids as lc on u.left_source_system = lc.source_system and u.left_source_record_id = lc.source_record_id
    left join customer_ids as rc on u.right_source_system = rc.source_system and u.right_source_record_id = rc.source_record_id
)

select * from final
