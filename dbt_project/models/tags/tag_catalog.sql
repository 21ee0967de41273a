{#- The tag catalog (macros/tags/tag_catalog.sql) as a table, with each entry's effective status:
    a rule whose required feature columns are missing is `planned` whatever it declares, and turns
    `active` once the features have them. -#}
-- depends_on: {{ ref('customer_features') }}
{%- set columns = model_columns('customer_features') %}

with declared as (
    select *
    from (
        {{- tag_catalog_rows(columns) }}
    ) as catalog (
        tag_code,
        name_cn,
        name_en,
        category,
        category_cn,
        tag_kind,
        tag_group,
        rule_sql,
        requires_columns,
        missing_columns,
        raises_warning,
        owner,
        rule_version,
        declared_status,
        description,
        catalog_order
    )
),

final as (
    select
        tag_code::text as tag_code,
        name_cn::text as name_cn,
        name_en::text as name_en,
        category::text as category,
        category_cn::text as category_cn,
        tag_kind::text as tag_kind,
        tag_group::text as tag_group,
        rule_sql::text as rule_sql,
        nullif(requires_columns, '')::text as requires_columns,
        nullif(missing_columns, '')::text as missing_columns,
        raises_warning::text as raises_warning,
        owner::text as owner,
        rule_version::integer as rule_version,
        declared_status::text as declared_status,
        case
            when declared_status = 'retired' then 'retired'
            when missing_columns <> '' then 'planned'
            else 'active'
        end::text as status,
        description::text as description,
        catalog_order::integer as catalog_order
    from declared
)

select * from final
