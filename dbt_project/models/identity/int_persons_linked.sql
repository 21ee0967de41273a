{#- Deterministic persons: connected components of int_person_links_deterministic, found by the
    clustering function (macros/identity/connected_components.sql, created by this model's
    pre-hook) with no guards. One row per person record: node_num is its record_num,
    cluster_num (the entity) the smallest record_num of its component. -#}
{{ config(pre_hook="{{ create_connected_components() }}") }}

with records as (
    select * from {{ ref('int_person_records_normalized') }}
),

links as (
    select * from {{ ref('int_person_links_deterministic') }}
),

edges as (
    select
        array_agg(record_num_a order by record_num_a, record_num_b) as nodes_from,
        array_agg(record_num_b order by record_num_a, record_num_b) as nodes_to
    from links
),

components as (
    select c.*
    from edges as e
    cross join lateral {{ connected_components() }}(
        (select count(*)::integer from records),
        e.nodes_from,
        e.nodes_to,
        array_fill(100.0, array[coalesce(cardinality(e.nodes_from), 0)])
    ) as c
),

final as (
    select
        r.record_num as node_num,
        c.cluster_num
    from records as r
    inner join components as c on r.record_num = c.node_num
)

select * from final
