{#- Deterministic entities: connected components of int_record_links_deterministic, found by
    the clustering function (macros/identity/connected_components.sql, created by this model's
    pre-hook) with no guards. entity_num is the smallest record_num of the entity. -#}
{{ config(pre_hook="{{ create_connected_components() }}") }}

with records as (
    select * from {{ ref('int_company_records_normalized') }}
),

links as (
    select * from {{ ref('int_record_links_deterministic') }}
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
        array_fill(100.0, array[coalesce(cardinality(e.nodes_from), 0)]),
        {%- if identity_config().mode in ['link_only', 'one_to_one'] %}
        -- link_only / one_to_one: no deterministic link between two records of one source
        node_sources => (
            select array_agg(case when r.is_customer_record then r.source_system end order by r.record_num)
            from records as r
        )
        {%- else %}
        node_sources => null
        {%- endif %}
    ) as c
),

final as (
    select
        r.record_num as node_num,
        c.cluster_num,
        null::text as credit_code,
        1 as record_count
    from records as r
    inner join components as c on r.record_num = c.node_num
)

select * from final
