{#- Each document the text stage read, with the customer it is about and its material family:
    the ticket's or project's record, the interaction's CRM account, the feedback's sample
    request (whose material gives the family). A document whose record has no CID yet is
    left out (it comes in once identity links it). Family: the sample's material, else the
    one family of the properties the text names, else the customer's most-bought family. -#}

with documents as (
    select * from {{ ref('stg_texts__documents') }}
),

doc_topics as (
    select
        dt.doc_id,
        dt.weight as topic_weight,
        t.topic_code,
        t.name_zh as topic_name_zh,
        t.name_en as topic_name_en
    from {{ ref('stg_texts__document_topics') }} as dt
    inner join {{ ref('stg_texts__topics') }} as t on dt.topic_id = t.topic_id
),

customer_ids as (
    select * from {{ ref('customer_ids') }}
),

interactions as (
    -- the current version's account (one row per interaction)
    select
        interaction_id,
        account_id
    from {{ ref('stg_crm__interactions') }}
    where superseded_at is null
),

feedback as (
    select
        f.feedback_id,
        f.request_id,
        m.material_family
    from {{ ref('stg_lab__test_feedback') }} as f
    left join {{ ref('stg_lab__sample_requests') }} as r
        on f.request_id = r.request_id and r.superseded_at is null
    left join {{ ref('stg_catalog__materials') }} as m
        on r.material_id = m.material_id and m.superseded_at is null
    where f.superseded_at is null
),

linked_records as (
    -- the identity record each document's record belongs to
    select
        d.doc_id,
        case
            when d.source_system = 'crm' then 'accounts'
            when d.source_system = 'lab' then 'sample_requests'
            else d.source_table
        end as link_table,
        coalesce(i.account_id, f.request_id, d.source_record_id) as link_record_id,
        f.material_family as record_family
    from documents as d
    left join interactions as i
        on d.source_system = 'crm' and d.source_record_id = i.interaction_id
    left join feedback as f
        on d.source_system = 'lab' and d.source_record_id = f.feedback_id
    where d.source_system in ('service', 'projects') or i.account_id is not null or f.request_id is not null
),

text_families as (
    -- the material family of the properties the text names, when there is just one
    select
        doc_id,
        min(family) as text_family
    from {{ ref('stg_texts__requirements') }}
    where family is not null
    group by doc_id
    having count(distinct family) = 1
),

bought as (
    select
        cid,
        material_family,
        row_number() over (partition by cid order by sum(amount_cny) desc, material_family) as rank_in_customer
    from {{ ref('int_customer_materials_bought') }}
    group by cid, material_family
),

final as (
    select
        d.doc_id,
        ids.cid,
        d.source_system,
        d.source_table,
        d.source_record_id,
        d.column_name,
        d.known_at,
        d.flags,
        d.word_count,
        d.body,
        t.topic_code,
        t.topic_name_zh,
        t.topic_name_en,
        t.topic_weight,
        coalesce(lr.record_family, tf.text_family, b.material_family) as material_family
    from documents as d
    inner join linked_records as lr on d.doc_id = lr.doc_id
    inner join customer_ids as ids
        on
            d.source_system = ids.source_system
            and lr.link_table = ids.source_table
            and lr.link_record_id = ids.source_record_id
    left join doc_topics as t on d.doc_id = t.doc_id
    left join text_families as tf on d.doc_id = tf.doc_id
    left join bought as b on ids.cid = b.cid and b.rank_in_customer = 1
)

select * from final
