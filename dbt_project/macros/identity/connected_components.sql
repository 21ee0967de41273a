{#- The clustering function the identity models select from: union-find over the nodes
    1..node_count along the edges (from, to, weight), strongest edge first (ties by from, to).
    With credit_codes and record_counts (one per node, in node order), large_cluster_records
    and cannot-link pairs, a merge is refused when it would put two different valid credit
    codes in one cluster, put a cannot-link pair (a confirmed non-match) in one cluster, or
    join two clusters of at least large_cluster_records records through an edge weaker than
    large_merge_min_weight (weak chains cannot glue big clusters together), or, with
    node_sources (comma-separated source systems per node), put two records of one source in
    one cluster (link_only / one_to_one modes). A null argument
    turns its guard off. Returns each node with its cluster_num, the smallest node of its
    cluster. Created by the models' pre-hooks (create or replace: idempotent). -#}
{% macro create_connected_components() -%}
-- the signature before node_sources (an overload would make calls ambiguous)
drop function if exists {{ connected_components() }}(
    integer, integer[], integer[], numeric[], text[], integer[], integer[], integer[], integer, numeric
);
create or replace function {{ connected_components() }}(
    node_count integer,
    edges_from integer[],
    edges_to integer[],
    edge_weights numeric[],
    credit_codes text[] default null,
    record_counts integer[] default null,
    cannot_link_from integer[] default null,
    cannot_link_to integer[] default null,
    large_cluster_records integer default null,
    large_merge_min_weight numeric default null,
    node_sources text[] default null
) returns table (node_num integer, cluster_num integer)
language plpgsql immutable
as $connected_components$
declare
    parent integer[];
    code text[];
    size integer[];
    srcs text[];
    ca integer[] := coalesce(cannot_link_from, '{}');
    cb integer[] := coalesce(cannot_link_to, '{}');
    e record;
    ra integer;
    rb integer;
    x integer;
    y integer;
    blocked boolean;
begin
    if coalesce(node_count, 0) = 0 then
        return;
    end if;
    parent := array(select g from generate_series(1, node_count) as g);
    code := coalesce(credit_codes, array_fill(null::text, array[node_count]));
    size := coalesce(record_counts, array_fill(1, array[node_count]));
    srcs := coalesce(node_sources, array_fill(null::text, array[node_count]));
    for e in
        select t.node_a, t.node_b, t.weight
        from unnest(edges_from, edges_to, edge_weights) as t (node_a, node_b, weight)
        order by t.weight desc, t.node_a, t.node_b
    loop
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
        continue when code[ra] is not null and code[rb] is not null and code[ra] <> code[rb];
        -- link_only / one_to_one: no cluster holds two records of one source
        continue when srcs[ra] is not null and srcs[rb] is not null
            and string_to_array(srcs[ra], ',') && string_to_array(srcs[rb], ',');
        continue when size[ra] >= large_cluster_records
            and size[rb] >= large_cluster_records
            and e.weight < large_merge_min_weight;
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
        srcs[ra] := case
            when srcs[ra] is null then srcs[rb]
            when srcs[rb] is null then srcs[ra]
            else srcs[ra] || ',' || srcs[rb]
        end;
    end loop;
    for i in 1..node_count loop
        x := i;
        while parent[x] <> x loop
            x := parent[x];
        end loop;
        parent[i] := x;
    end loop;
    return query select g, parent[g] from generate_series(1, node_count) as g;
end
$connected_components$
{%- endmacro %}

{#- The qualified name of the clustering function (in the identity schema). -#}
{% macro connected_components() -%}
    identity.connected_components
{%- endmacro %}
