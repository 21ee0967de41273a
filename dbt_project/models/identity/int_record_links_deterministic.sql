{#- Deterministic links (identity_config().deterministic_rules): records sharing a key value
    are the same customer. Each key value becomes a star (every record to the first record
    with that value), so the links grow linearly with the records. With
    identity_keep_previous_clusters the previous run's CID memberships are kept the same way,
    unless a reviewer split them with a non_match; by default every run re-clusters. -#}
{#- The pre-hook creates the clustering function before int_records_linked's unit tests run. -#}
{{ config(pre_hook="{{ create_connected_components() }}") }}
{%- set rules = identity_config().deterministic_rules -%}
with records as (
    select * from {{ ref('int_company_records_normalized') }}
),

decisions as (
    select * from {{ ref('identity_review_decisions') }}
),

previous_registry as (
    select * from {{ identity_registry_or_empty() }}
),

decided_pairs as (
    select
        l.record_num as record_num_a,
        r.record_num as record_num_b,
        d.decision
    from decisions as d
    inner join records as l
        on l.source_system = d.left_source_system and l.source_record_id = d.left_source_record_id and l.is_customer_record
    inner join records as r
        on r.source_system = d.right_source_system and r.source_record_id = d.right_source_record_id and r.is_customer_record
),

split_cids as (
    select distinct pa.cid
    from decided_pairs as p
    inner join records as l on l.record_num = p.record_num_a
    inner join records as r on r.record_num = p.record_num_b
    inner join previous_registry as pa on pa.source_system = l.source_system and pa.source_record_id = l.source_record_id
    inner join previous_registry as pb on pb.source_system = r.source_system and pb.source_record_id = r.source_record_id
    where p.decision = 'non_match' and pa.cid = pb.cid
),

keys as (
    {%- if rules.credit_code %}
    select record_num, 'credit_code' as rule, credit_code as key_value from records where credit_code is not null
    union all
    {%- endif %}
    {%- if rules.erp_customer_code %}
    select record_num, 'erp_customer_code' as rule, erp_customer_code as key_value from records where erp_customer_code is not null
    union all
    {%- endif %}
    {%- if rules.crm_account %}
    select record_num, 'crm_account' as rule, crm_account_id as key_value from records where crm_account_id is not null
    union all
    {%- endif %}
    {%- if rules.email_address %}
    select record_num, 'email_address' as rule, email as key_value from records where email is not null
    union all
    {%- endif %}
    {%- if rules.mobile %}
    select record_num, 'mobile' as rule, phone as key_value from records where phone_kind = 'mobile'
    union all
    {%- endif %}
    {%- if rules.landline %}
    select record_num, 'landline' as rule, phone as key_value from records where phone_kind = 'landline'
    union all
    {%- endif %}
    {%- if identity_config().keep_previous_clusters %}
    select
        r.record_num,
        'previous_cid' as rule,
        p.cid as key_value
    from previous_registry as p
    inner join records as r on r.source_system = p.source_system and r.source_record_id = p.source_record_id and r.is_customer_record
    where p.cid not in (select s.cid from split_cids as s)
    {%- else %}
    -- every run re-clusters from the evidence (identity_keep_previous_clusters is off)
    select null::integer as record_num, null::text as rule, null::text as key_value
    where false
    {%- endif %}
),

stars as (
    select
        record_num,
        rule,
        min(record_num) over (partition by rule, key_value) as hub_record_num
    from keys
),

final as (
    select distinct
        hub_record_num as record_num_a,
        record_num as record_num_b,
        rule
    from stars
    where record_num <> hub_record_num
    {%- if rules.review_match %}

    union

    select
        least(record_num_a, record_num_b) as record_num_a,
        greatest(record_num_a, record_num_b) as record_num_b,
        'review_match' as rule
    from decided_pairs
    where decision = 'match'
    {%- endif %}
)

select * from final
