{#- Post-hook that clusters the nodes of `nodes` (columns node_num int 1..n, cluster_num int,
    credit_code text, record_count int) along the edges of `edges` (node_a, node_b, weight),
    strongest edge first, with union-find. A merge is refused when it would put two different
    valid credit codes in one cluster, put a confirmed non-match pair (`cannot_link`: node_a,
    node_b) in one cluster, or join two clusters of at least chain_guard.large_cluster_records
    records through an edge weaker than chain_guard.large_merge_min_weight: weak chains cannot
    glue big clusters together. Sets cluster_num to the smallest node_num of each cluster. -#}
{% macro union_find_clusters(nodes, edges, cannot_link=none, guarded=true) -%}
{%- set guard = identity_config().chain_guard -%}
do $union_find$
declare
    n integer;
    parent integer[];
    code text[];
    size integer[];
    ca integer[];
    cb integer[];
    e record;
    ra integer;
    rb integer;
    x integer;
    y integer;
    blocked boolean;
begin
    select count(*) into n from {{ nodes }};
    if n = 0 then
        return;
    end if;
    parent := array(select g from generate_series(1, n) as g);
    code := array(select credit_code from {{ nodes }} order by node_num);
    size := array(select record_count from {{ nodes }} order by node_num);
    {%- if cannot_link is not none %}
    ca := array(select node_a from {{ cannot_link }} order by 1);
    cb := array(select node_b from {{ cannot_link }} order by node_a);
    {%- else %}
    ca := '{}';
    cb := '{}';
    {%- endif %}
    for e in select node_a, node_b, weight from {{ edges }} order by weight desc, node_a, node_b loop
        ra := e.node_a;
        while parent[ra] <> ra loop
            parent[ra] := parent[parent[ra]];
            ra := parent[ra];
        end loop;
        rb := e.node_b;
        while parent[rb] <> rb loop
            parent[rb] := parent[parent[rb]];
            rb := parent[rb];
        end loop;
        continue when ra = rb;
        {%- if guarded %}
        continue when code[ra] is not null and code[rb] is not null and code[ra] <> code[rb];
        continue when size[ra] >= {{ guard.large_cluster_records }}
            and size[rb] >= {{ guard.large_cluster_records }}
            and e.weight < {{ guard.large_merge_min_weight }};
        {%- endif %}
        blocked := false;
        for i in 1..coalesce(array_length(ca, 1), 0) loop
            x := ca[i];
            while parent[x] <> x loop x := parent[x]; end loop;
            y := cb[i];
            while parent[y] <> y loop y := parent[y]; end loop;
            if (x = ra and y = rb) or (x = rb and y = ra) then
                blocked := true;
                exit;
            end if;
        end loop;
        continue when blocked;
        if ra > rb then
            x := ra; ra := rb; rb := x;
        end if;
        parent[rb] := ra;
        code[ra] := coalesce(code[ra], code[rb]);
        size[ra] := size[ra] + size[rb];
    end loop;
    for i in 1..n loop
        x := i;
        while parent[x] <> x loop
            x := parent[x];
        end loop;
        parent[i] := x;
    end loop;
    update {{ nodes }} as t set cluster_num = parent[t.node_num];
end
$union_find$
{%- endmacro %}

{#- Edges for int_records_linked: the deterministic links. -#}
{% macro deterministic_link_edges() -%}
    (select record_num_a as node_a, record_num_b as node_b, 100.0 as weight
     from {{ ref('int_record_links_deterministic') }}) as links
{%- endmacro %}

{#- Edges for int_entity_clusters: scored entity pairs at or above match_threshold. -#}
{% macro scored_link_edges(nodes) -%}
    (select na.node_num as node_a, nb.node_num as node_b, p.match_weight as weight
     from {{ ref('int_record_pairs_scored') }} as p
     inner join {{ nodes }} as na on na.entity_num = p.entity_num_a
     inner join {{ nodes }} as nb on nb.entity_num = p.entity_num_b
     where p.match_weight >= {{ identity_config().match_threshold }}) as edges
{%- endmacro %}

{#- Cannot-link pairs for int_entity_clusters: confirmed non-matches, as entity nodes. -#}
{% macro non_match_links(nodes) -%}
    (select distinct na.node_num as node_a, nb.node_num as node_b
     from {{ ref('identity_review_decisions') }} as d
     inner join {{ ref('int_company_records_normalized') }} as l
        on l.source_system = d.left_source_system and l.source_record_id = d.left_source_record_id
        and l.is_customer_record
     inner join {{ ref('int_company_records_normalized') }} as r
        on r.source_system = d.right_source_system and r.source_record_id = d.right_source_record_id
        and r.is_customer_record
     inner join {{ ref('int_records_linked') }} as el on el.node_num = l.record_num
     inner join {{ ref('int_records_linked') }} as er on er.node_num = r.record_num
     inner join {{ nodes }} as na on na.entity_num = el.cluster_num
     inner join {{ nodes }} as nb on nb.entity_num = er.cluster_num
     where d.decision = 'non_match' and na.node_num <> nb.node_num) as cannot_link
{%- endmacro %}
