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

-- The profile service's people and systems (issue 16, docs/service.md): sign-in accounts
-- (argon2 password hashes), API tokens (SHA-256 of a 256-bit secret, scoped by role,
-- revocable) and sign-in sessions (SHA-256 of the cookie's secret). Created by
-- `portrait user create` / `portrait token create` (the admin login); the service reads them.
create table if not exists governance.service_users (
    username text primary key,
    display_name text not null,
    role text not null check (role in ('sales', 'credit', 'service', 'analyst', 'admin')),
    owner_sales text,
    password_hash text not null,
    disabled boolean not null default false,
    created_at timestamptz not null default now()
);
create table if not exists governance.api_tokens (
    token_id text primary key,
    name text not null,
    role text not null,
    secret_sha256 text not null,
    created_at timestamptz not null default now(),
    expires_at timestamptz,
    revoked_at timestamptz,
    last_used_at timestamptz
);
create table if not exists governance.service_sessions (
    session_sha256 text primary key,
    username text not null references governance.service_users (username) on delete cascade,
    created_at timestamptz not null default now(),
    expires_at timestamptz not null
);
-- Failed sign-ins, for the throttle (auth.MAX_FAILED_SIGN_INS per username in
-- auth.FAILED_SIGN_IN_WINDOW); rows older than the window are deleted as new ones come.
create table if not exists governance.service_sign_in_failures (
    username text not null,
    failed_at timestamptz not null default now(),
    client_addr text
);
create index if not exists service_sign_in_failures_user
on governance.service_sign_in_failures (username, failed_at);
do $$
begin
    if exists (select 1 from pg_roles where rolname = 'portrait_admin') then
        alter table governance.service_sign_in_failures owner to portrait_admin;
        alter table governance.service_users owner to portrait_admin;
        alter table governance.api_tokens owner to portrait_admin;
        alter table governance.service_sessions owner to portrait_admin;
    end if;
    if exists (select 1 from pg_roles where rolname = 'portrait_service') then
        grant usage on schema governance to portrait_service;
        grant select on governance.service_users to portrait_service;
        grant select, update (last_used_at) on governance.api_tokens to portrait_service;
        grant select, insert, delete on governance.service_sessions to portrait_service;
        grant select, insert, delete on governance.service_sign_in_failures to portrait_service;
    end if;
end
$$;
