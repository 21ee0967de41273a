{#- The tag catalog for analysts: every tag with its rule, owner, version and effective status, and
    how many customers carry it on the current snapshot of its source. -#}

with catalog as (
    select * from {{ ref('tag_catalog') }}
),

customer_tags as (
    select * from {{ ref('mart_customer_tags') }}
),

current_counts as (
    select
        tag_code,
        count(distinct cid) as current_customers,
        max(as_of_date) as current_as_of_date
    from customer_tags
    where is_current
    group by tag_code
),

final as (
    select
        c.tag_code::text as tag_code,
        c.name_cn::text as name_cn,
        c.name_en::text as name_en,
        c.category::text as category,
        c.category_cn::text as category_cn,
        c.tag_kind::text as tag_kind,
        c.tag_group::text as tag_group,
        c.rule_sql::text as rule_sql,
        c.requires_columns::text as requires_columns,
        c.missing_columns::text as missing_columns,
        c.raises_warning::text as raises_warning,
        c.owner::text as owner,
        c.rule_version::integer as rule_version,
        c.declared_status::text as declared_status,
        c.status::text as status,
        c.description::text as description,
        c.catalog_order::integer as catalog_order,
        coalesce(n.current_customers, 0)::integer as current_customers,
        n.current_as_of_date::date as current_as_of_date
    from catalog as c
    left join current_counts as n on c.tag_code = n.tag_code
)

select * from final
