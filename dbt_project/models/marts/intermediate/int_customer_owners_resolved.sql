{#- The sales rep owning each customer: the owner of its most recently changed CRM account. One
    definition for the golden record (dim_customer) and the sales rows of the restricted
    contacts (row-level security by owner_sales). -#}
with customer_ids as (
    select * from {{ ref('customer_ids') }}
),

records as (
    select * from {{ ref('int_company_records_normalized') }}
    where is_customer_record and source_system = 'crm' and owner_sales is not null
),

final as (
    select distinct on (c.cid)
        c.cid,
        r.owner_sales,
        r.source_system || ':' || r.source_record_id as owner_sales_source
    from customer_ids as c
    inner join records as r on c.source_system = r.source_system and c.source_record_id = r.source_record_id
    order by c.cid asc, r.known_at desc, r.source_record_id asc
)

select * from final
