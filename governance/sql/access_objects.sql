-- What the personal-data layer needs before dbt builds (idempotent; run by the role migration,
-- governance/roles.py, after roles.sql). It creates the roles it relies on when they are
-- missing, as NOLOGIN groups, so it also works on its own.
do $$
declare
    r text;
begin
    foreach r in array array[
        'portrait_analysts', 'portrait_sales', 'portrait_credit', 'portrait_service_staff',
        'portrait_stewards', 'portrait_auditor'
    ] loop
        if not exists (select 1 from pg_roles where rolname = r) then
            execute format('create role %I nologin', r);
        end if;
    end loop;
end
$$;

create schema if not exists governance;

-- A sales login and the CRM owner_sales whose accounts it may read in clear
-- (row-level security on marts_restricted.customer_contacts).
create table if not exists governance.staff_logins (
    login name primary key,
    owner_sales text not null
);
grant usage on schema governance to portrait_sales, portrait_stewards;
grant select on governance.staff_logins to portrait_sales, portrait_stewards;

-- Access the profile service records itself (issue 16): who read or exported which customers.
create schema if not exists audit;
create table if not exists audit.access_log (
    at timestamptz not null default now(),
    login text not null default current_user,
    client text,
    action text not null,
    cids text[],
    columns text[],
    detail jsonb
);
create index if not exists access_log_at on audit.access_log (at);
grant usage on schema audit to portrait_stewards;
grant select on audit.access_log to portrait_stewards;
-- the profile service appends; nobody but the admin changes the log
do $$
begin
    if exists (select 1 from pg_roles where rolname = 'portrait_admin') then
        alter table audit.access_log owner to portrait_admin;
    end if;
    if exists (select 1 from pg_roles where rolname = 'portrait_service') then
        grant usage on schema audit to portrait_service;
        grant insert on audit.access_log to portrait_service;
    end if;
end
$$;
