{#- Candidate pairs between deterministic entities, scored with Fellegi-Sunter weights. The
    SQL is generated from the company's comparisons, blocking keys and mode (identity_entities
    in dbt_project.yml, overridable per run; macros/identity/comparisons.sql). One row per
    entity pair: its best-scoring profile pair, with every comparison's level. -#}
{#- pg_trgm (similarity) and fuzzystrmatch (levenshtein: edit_distance comparisons). -#}
{{ config(pre_hook=[
    "create extension if not exists pg_trgm with schema public",
    "create extension if not exists fuzzystrmatch with schema public"
]) }}
{{ identity_pairs_scored('company') }}
