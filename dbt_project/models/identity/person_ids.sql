{#- Every person record and its person ID: deterministic persons (int_persons_linked) joined by
    scored pairs at or above identity_entities.person.match_threshold, strongest first, by the
    clustering function (macros/identity/connected_components.sql). person_id is 'PID' + 12
    upper-case hex of md5 of the key (source_system|source_table|source_record_id) of the
    person's first known record (then the smallest key): a later record joining a person does
    not change its ID; a merge or split of the evidence does. -#}
{{ config(pre_hook="{{ create_connected_components() }}") }}
{%- set cfg = identity_config('person') -%}

with records as (
    select * from {{ ref('int_person_records_normalized') }}
),

linked as (
    select * from {{ ref('int_persons_linked') }}
),

pairs as (
    select * from {{ ref('int_person_pairs_scored') }}
),

nodes as (
    select
        (row_number() over (order by cluster_num))::integer as node_num,
        cluster_num as entity_num
    from linked
    group by cluster_num
),

edges as (
    select
        array_agg(na.node_num order by na.node_num, nb.node_num) as nodes_from,
        array_agg(nb.node_num order by na.node_num, nb.node_num) as nodes_to,
        array_agg(p.match_weight order by na.node_num, nb.node_num) as weights
    from pairs as p
    inner join nodes as na on p.entity_num_a = na.entity_num
    inner join nodes as nb on p.entity_num_b = nb.entity_num
    where p.match_weight >= {{ cfg.match_threshold }}
),

clusters as (
    select c.*
    from edges as e
    cross join lateral {{ connected_components() }}(
        (select count(*)::integer from nodes),
        e.nodes_from,
        e.nodes_to,
        e.weights
    ) as c
),

clustered_records as (
    select
        r.source_system,
        r.source_table,
        r.source_record_id,
        c.cluster_num,
        r.source_system || '|' || r.source_table || '|' || r.source_record_id as record_key,
        r.first_known_at
    from records as r
    inner join linked as l on r.record_num = l.node_num
    inner join nodes as n on l.cluster_num = n.entity_num
    inner join clusters as c on n.node_num = c.node_num
),

first_records as (
    select distinct on (cluster_num)
        cluster_num,
        record_key
    from clustered_records
    order by cluster_num, first_known_at, record_key
),

final as (
    select
        r.source_system,
        r.source_table,
        r.source_record_id,
        'PID' || upper(left(md5(f.record_key), 12)) as person_id
    from clustered_records as r
    inner join first_records as f on r.cluster_num = f.cluster_num
)

select * from final
