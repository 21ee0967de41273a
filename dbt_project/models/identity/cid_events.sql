{#- Every change of meaning of a CID, appended run by run (full_refresh is off): merge (records
    of from_cid now belong to the older to_cid) and split (records left from_cid for to_cid). -#}
{{ config(
    materialized='incremental',
    full_refresh=false,
    on_schema_change='append_new_columns'
) }}

with registry as (
    select * from {{ ref('cid_registry') }}
),

changes as (
    select
        change_kind as event_type,
        previous_cid as from_cid,
        cid as to_cid,
        cid_changed_at as event_at,
        change_reason as reason,
        settings_fingerprint,
        count(*)::integer as records_moved
    from registry
    where
        change_kind in ('merge', 'split')
        {%- if is_incremental() %}
            and cid_changed_at > (
                select coalesce(max(logged.event_at), '-infinity'::timestamptz) from {{ this }} as logged
            )
        {%- endif %}
    group by change_kind, previous_cid, cid, cid_changed_at, change_reason, settings_fingerprint
),

final as (
    select * from changes
)

select * from final
