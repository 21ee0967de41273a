{#- Candidate pairs between deterministic persons, scored with Fellegi-Sunter weights. The SQL
    is generated from the person's comparisons and blocking keys (identity_entities.person in
    dbt_project.yml, overridable per run with --vars '{identity_person: {...}}';
    macros/identity/comparisons.sql): same name, employer, phone or e-mail block. One row per
    person pair: its best-scoring profile pair, with every comparison's level. -#}
{{ config(pre_hook="create extension if not exists pg_trgm with schema public") }}
{{ identity_pairs_scored('person') }}
