{#- Staging keeps every version of a record that a batch delivered, with the window in
    which it was the known truth: known_at (its batch's extraction, else load time) and
    superseded_at (the next version's known_at). Features pick the version known at their
    cutoff; current-state models take superseded_at is null. -#}
{% macro version_columns(key_columns) -%}
    coalesce(_extracted_at, _loaded_at) as known_at,
    lead(coalesce(_extracted_at, _loaded_at)) over (
        partition by {{ key_columns | join(', ') }}
        order by coalesce(_extracted_at, _loaded_at), _batch_id, _row_number
    ) as superseded_at,
    _batch_id as batch_id,
    _row_number as source_row_number
{%- endmacro %}

{#- True when the version was the known truth at the given instant. -#}
{% macro known_at_instant(cutoff, alias=none) -%}
    {%- set p = (alias ~ ".") if alias else "" -%}
    ({{ p }}known_at <= {{ cutoff }} and ({{ p }}superseded_at is null or {{ p }}superseded_at > {{ cutoff }}))
{%- endmacro %}

{#- Every version of a staging model's records with first_known_at: when the record's first
    version became known (the identity models' record age). -#}
{% macro with_first_known_at(model_name, key) -%}
    select
        *,
        min(known_at) over (partition by {{ key }}) as first_known_at
    from {{ ref(model_name) }}
{%- endmacro %}
