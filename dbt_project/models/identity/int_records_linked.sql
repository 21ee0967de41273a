{#- Deterministic entities: connected components of int_record_links_deterministic, found by
    the clustering function (macros/identity/connected_components.sql, created by this model's
    pre-hook) with the credit-code guard: links are taken strongest rule first
    (identity_hub_identifiers.rule_weights), and a link that would put two different valid
    credit codes in one entity is refused, so a shared phone or e-mail never merges two
    registered companies. entity_num is the smallest record_num of the entity. -#}
{{ config(pre_hook="{{ create_connected_components() }}") }}
{%- set weights = identity_config().hub_identifiers['rule_weights'] -%}

with records as (
    select * from {{ ref('int_company_records_normalized') }}
),

links as (
    select * from {{ ref('int_record_links_deterministic') }}
),

weighted_links as (
    select
        record_num_a,
        record_num_b,
        case rule
            {%- for rule, weight in weights.items() %}
            when '{{ rule }}' then {{ weight }}
            {%- endfor %}
            else 1
        end::numeric as weight
    from links
),

edges as (
    select
        array_agg(record_num_a order by record_num_a, record_num_b) as nodes_from,
        array_agg(record_num_b order by record_num_a, record_num_b) as nodes_to,
        array_agg(weight order by record_num_a, record_num_b) as weights
    from weighted_links
),

node_attributes as (
    select
        count(*)::integer as node_count,
        array_agg(credit_code order by record_num) as credit_codes
    from records
),

components as (
    select c.*
    from node_attributes as n
    cross join edges as e
    cross join lateral {{ connected_components() }}(
        n.node_count,
        e.nodes_from,
        e.nodes_to,
        e.weights,
        n.credit_codes,
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
        r.credit_code,
        1 as record_count
    from records as r
    inner join components as c on r.record_num = c.node_num
)

select * from final
