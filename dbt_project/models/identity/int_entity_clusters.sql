{#- Customers: deterministic entities joined by scored pairs at or above match_threshold,
    strongest first, by the guarded union-find post-hook (no two valid credit codes, no
    confirmed non-match, no weak link between two big clusters). One row per entity;
    cluster_num is the smallest node_num of its customer. -#}
{{ config(post_hook="{{ union_find_clusters(this, scored_link_edges(this), non_match_links(this)) }}") }}
-- depends_on: {{ ref('int_record_pairs_scored') }}
-- depends_on: {{ ref('identity_review_decisions') }}

with records as (
    select * from {{ ref('int_company_records_normalized') }}
),

linked as (
    select * from {{ ref('int_records_linked') }}
),

entities as (
    select
        l.cluster_num as entity_num,
        min(r.credit_code) as credit_code,
        count(*) filter (where r.is_customer_record)::integer as record_count
    from linked as l
    inner join records as r on l.node_num = r.record_num
    group by l.cluster_num
),

final as (
    select
        (row_number() over (order by entity_num))::integer as node_num,
        (row_number() over (order by entity_num))::integer as cluster_num,
        entity_num,
        credit_code,
        record_count
    from entities
)

select * from final
