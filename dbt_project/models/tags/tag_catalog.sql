{#- The tag catalog (seeds/tag_definitions.csv) as a table, with each entry's effective status:
    a rule whose required feature columns are missing is `planned` whatever it declares, and turns
    `active` once the features have them. -#}
-- depends_on: {{ ref('customer_features') }}
{%- set columns = model_columns('customer_features') %}

with definitions as (
    select * from {{ ref('tag_definitions') }}
),

categories as (
    select * from {{ ref('tag_categories') }}
),

checked as (
    -- the required columns customer_features lacks, in the order the entry lists them; only
    -- rule and lifecycle entries read customer_features
    select
        d.*,
        c.name_cn as category_cn,
        case
            when d.kind in ('rule', 'lifecycle')
                then array_to_string(array(
                    select required.column_name
                    from unnest(string_to_array(d.requires, ',')) with ordinality as required (column_name, ordinal)
                    where required.column_name <> all(array[{{ "'" ~ (columns | join("', '")) ~ "'" if columns else '' }}]::text [])
                    order by required.ordinal
                ), ',')
            else ''
        end as missing_columns
    from definitions as d
    left join categories as c on d.category = c.category
),

final as (
    select
        code::text as tag_code,
        name_cn::text as name_cn,
        name_en::text as name_en,
        category::text as category,
        category_cn::text as category_cn,
        kind::text as tag_kind,
        coalesce(tag_group, code)::text as tag_group,
        rule::text as rule_sql,
        nullif(requires, '')::text as requires_columns,
        nullif(missing_columns, '')::text as missing_columns,
        raises::text as raises_warning,
        owner::text as owner,
        version::integer as rule_version,
        status::text as declared_status,
        case
            when status = 'retired' then 'retired'
            when missing_columns <> '' then 'planned'
            else 'active'
        end::text as status,
        description::text as description,
        catalog_order::integer as catalog_order
    from checked
)

select * from final
