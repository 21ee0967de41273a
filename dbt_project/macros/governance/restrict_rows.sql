{#- Access to a restricted mart (a post-hook: dbt rebuilds the table each run, and what this
    sets goes with the table). Row-level security: stewards see every row; a sales login sees
    the rows whose owner_sales is its own (governance.staff_logins maps a login to its CRM
    owner_sales); any other role sees none, even with a grant; the owner is not bound.
    pgaudit's object audit: portrait_auditor may read the clear personal columns (meta.pii in
    the YAML), so every statement reading one of them is logged. The profile service
    (portrait_service) sees the rows its request's user may see (docs/service.md). -#}
{% macro restrict_rows_to_owner_sales() -%}
    {%- set personal = [] -%}
    {%- for name, column in model.columns.items() if column.meta.get('pii') -%}
        {%- do personal.append(adapter.quote(name)) -%}
    {%- endfor -%}
    grant usage on schema {{ this.schema }} to portrait_stewards, portrait_sales, portrait_auditor;
    alter table {{ this }} enable row level security;
    create policy stewards_read_all on {{ this }} for select to portrait_stewards using (true);
    create policy sales_read_own_accounts on {{ this }} for select to portrait_sales
        using (owner_sales = (select s.owner_sales from governance.staff_logins as s where s.login = current_user));
    {#- the profile service reads for its signed-in user: the scope and owner the request sets
        (set_config(..., true), this transaction only); without them, no row #}
    grant usage on schema {{ this.schema }} to portrait_service;
    grant select on {{ this }} to portrait_service;
    create policy service_acts_for_its_user on {{ this }} for select to portrait_service
        using (
            current_setting('portrait.contacts_scope', true) = 'all'
            or (
                current_setting('portrait.contacts_scope', true) = 'own'
                and owner_sales = nullif(current_setting('portrait.owner_sales', true), '')
            )
        );
    {%- if personal %}
    grant select ({{ personal | join(', ') }}) on {{ this }} to portrait_auditor
    {%- endif %}
{%- endmacro %}
