{#- Customers: deterministic entities joined by scored pairs at or above match_threshold,
    strongest first, by the guarded clustering function (macros/identity/connected_components.sql:
    no two valid credit codes, no confirmed non-match, no weak link between two big clusters;
    in link_only / one_to_one modes no two records of one source; one_to_one keeps only pairs
    where each entity is the other's best candidate in its source).
    One row per entity; cluster_num is the smallest node_num of its customer. The pre-hook
    keeps the function current; this model's unit tests run after int_records_linked created it. -#}
{{ config(pre_hook="{{ create_connected_components() }}") }}
{%- set cfg = identity_config() -%}

with records as (
    select * from {{ ref('int_company_records_normalized') }}
),

linked as (
    select * from {{ ref('int_records_linked') }}
),

pairs as (
    select * from {{ ref('int_record_pairs_scored') }}
),

decisions as (
    select * from {{ ref('identity_review_decisions') }}
),

entities as (
    select
        l.cluster_num as entity_num,
        min(r.credit_code) as credit_code,
        count(*) filter (where r.is_customer_record)::integer as record_count,
        string_agg(distinct r.source_system, ',' order by r.source_system) filter (where r.is_customer_record) as sources
    from linked as l
    inner join records as r on l.node_num = r.record_num
    group by l.cluster_num
),

nodes as (
    select
        (row_number() over (order by entity_num))::integer as node_num,
        entity_num,
        credit_code,
        record_count,
        sources
    from entities
),

linkable_pairs as (
    select p.*
    from pairs as p
    where p.match_weight >= {{ cfg.match_threshold }}
),
{%- if cfg.mode == 'one_to_one' %}

ranked_pairs as (
    -- each entity's best candidate in each other source, both ways
    select
        p.*,
        row_number() over (
            partition by p.entity_num_a, eb.sources order by p.match_weight desc, p.entity_num_b
        ) as rank_for_a,
        row_number() over (
            partition by p.entity_num_b, ea.sources order by p.match_weight desc, p.entity_num_a
        ) as rank_for_b
    from linkable_pairs as p
    inner join entities as ea on p.entity_num_a = ea.entity_num
    inner join entities as eb on p.entity_num_b = eb.entity_num
),

edge_pairs as (
    -- one_to_one: only pairs where each side is the other's best candidate
    select * from ranked_pairs
    where rank_for_a = 1 and rank_for_b = 1
),
{%- else %}

edge_pairs as (
    select * from linkable_pairs
),
{%- endif %}

edges as (
    select
        array_agg(na.node_num order by na.node_num, nb.node_num) as nodes_from,
        array_agg(nb.node_num order by na.node_num, nb.node_num) as nodes_to,
        array_agg(p.match_weight order by na.node_num, nb.node_num) as weights
    from edge_pairs as p
    inner join nodes as na on p.entity_num_a = na.entity_num
    inner join nodes as nb on p.entity_num_b = nb.entity_num
),

-- confirmed non-matches between customer records, as pairs of entity nodes
non_matches as (
    select distinct
        na.node_num as node_a,
        nb.node_num as node_b
    from decisions as d
    inner join records as l
        on
            d.left_source_system = l.source_system and d.left_source_record_id = l.source_record_id
            and l.is_customer_record
    inner join records as r
        on
            d.right_source_system = r.source_system and d.right_source_record_id = r.source_record_id
            and r.is_customer_record
    inner join linked as el on l.record_num = el.node_num
    inner join linked as er on r.record_num = er.node_num
    inner join nodes as na on el.cluster_num = na.entity_num
    inner join nodes as nb on er.cluster_num = nb.entity_num
    where d.decision = 'non_match' and na.node_num <> nb.node_num
),

cannot_links as (
    select
        array_agg(node_a order by node_a, node_b) as nodes_from,
        array_agg(node_b order by node_a, node_b) as nodes_to
    from non_matches
),

node_attributes as (
    select
        count(*)::integer as node_count,
        array_agg(credit_code order by node_num) as credit_codes,
        array_agg(record_count order by node_num) as record_counts,
        array_agg(sources order by node_num) as node_sources
    from nodes
),

clusters as (
    select c.*
    from node_attributes as n
    cross join edges as e
    cross join cannot_links as x
    cross join lateral {{ connected_components() }}(
        n.node_count,
        e.nodes_from,
        e.nodes_to,
        e.weights,
        n.credit_codes,
        n.record_counts,
        x.nodes_from,
        x.nodes_to,
        {{ cfg.chain_guard.large_cluster_records }},
        {{ cfg.chain_guard.large_merge_min_weight }},
        {{ 'n.node_sources' if cfg.mode in ['link_only', 'one_to_one'] else 'null' }}
    ) as c
),

final as (
    select
        n.node_num,
        c.cluster_num,
        n.entity_num,
        n.credit_code,
        n.record_count
    from nodes as n
    inner join clusters as c on n.node_num = c.node_num
)

select * from final
