{#- Deterministic entities: connected components of int_record_links_deterministic, found by
    the union-find post-hook (macros/identity/union_find.sql). entity_num is the smallest
    record_num of the entity. -#}
{{ config(post_hook="{{ union_find_clusters(this, deterministic_link_edges(), guarded=false) }}") }}
-- depends_on: {{ ref('int_record_links_deterministic') }}

with records as (
    select * from {{ ref('int_company_records_normalized') }}
),

final as (
    select
        record_num as node_num,
        record_num as cluster_num,
        null::text as credit_code,
        1 as record_count
    from records
)

select * from final
