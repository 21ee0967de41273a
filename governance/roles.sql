-- The warehouse's schemas, their owners and who may read them (docs/governance.md).
-- Run by governance.roles.migrate after the roles exist, as a superuser (the private
-- cluster's bootstrap login) or a role that may create schemas for these owners. Every
-- statement is idempotent: a second run changes no ACL, owner or default privilege.
-- Grants on the tables dbt builds live in dbt_project.yml (+grants by folder).

-- Only portrait's roles connect; the components may create temporary tables (dbt's
-- incremental models, models_ml's COPY staging).
do $$
begin
    execute format('revoke all on database %I from public', current_database());
    execute format(
        'grant connect, temporary on database %I to portrait_loader, portrait_transformer, '
        'portrait_ml, portrait_service',
        current_database()
    );
    execute format(
        'grant connect on database %I to portrait_admin, portrait_analysts, portrait_sales, '
        'portrait_credit, portrait_service_staff, portrait_stewards',
        current_database()
    );
end
$$;

-- dbt's identity models compare names (and look cities up) with these (contrib; creating them needs more
-- than the transformer has, so the migration does).
create extension if not exists pg_trgm with schema public;
create extension if not exists fuzzystrmatch with schema public;
create extension if not exists unaccent with schema public;

-- Nobody creates objects in public (dbt's target schema, which holds no model).
revoke create on schema public from public;

-- Each stage owns one schema (DESIGN.md, "Data flow").
create schema if not exists raw authorization portrait_loader;
create schema if not exists staging authorization portrait_transformer;
create schema if not exists identity authorization portrait_transformer;
create schema if not exists features authorization portrait_transformer;
create schema if not exists tags authorization portrait_transformer;
create schema if not exists marts authorization portrait_transformer;
create schema if not exists marts_restricted authorization portrait_transformer;
create schema if not exists ml authorization portrait_ml;
create schema if not exists monitoring authorization portrait_ml;
create schema if not exists texts authorization portrait_ml;
create schema if not exists activation authorization portrait_ml;
create schema if not exists governance authorization portrait_admin;
create schema if not exists audit authorization portrait_admin;

alter schema raw owner to portrait_loader;
alter schema staging owner to portrait_transformer;
alter schema identity owner to portrait_transformer;
alter schema features owner to portrait_transformer;
alter schema tags owner to portrait_transformer;
alter schema marts owner to portrait_transformer;
alter schema marts_restricted owner to portrait_transformer;
alter schema ml owner to portrait_ml;
alter schema monitoring owner to portrait_ml;
alter schema texts owner to portrait_ml;
alter schema activation owner to portrait_ml;
alter schema governance owner to portrait_admin;
alter schema audit owner to portrait_admin;

-- raw, staging, identity and features stay closed to analysts and people (no usage).
revoke all on schema raw, staging, identity, features, tags, ml, monitoring, texts
from portrait_analysts, portrait_sales, portrait_credit, portrait_service_staff,
portrait_stewards, portrait_analyst, portrait_service;
revoke all on schema activation from portrait_sales, portrait_credit, portrait_service_staff,
portrait_stewards;

-- dbt (transformer) reads what the loader writes into raw ...
grant usage on schema raw to portrait_transformer;
grant select on all tables in schema raw to portrait_transformer;
alter default privileges for role portrait_loader in schema raw
grant select on tables to portrait_transformer;

-- ... and what models_ml writes into ml and monitoring (scores, segments, drift) and the
-- text stage into texts (requirements, topics).
grant usage on schema ml, monitoring, texts to portrait_transformer;
grant select on all tables in schema ml, monitoring, texts to portrait_transformer;
alter default privileges for role portrait_ml in schema ml, monitoring, texts
grant select on tables to portrait_transformer;

-- The text stage (as portrait_ml) reads the documents staging lists (table grant: dbt,
-- staging/text's +grants); nothing else in staging is granted to it.
grant usage on schema staging to portrait_ml;

-- models_ml reads the feature snapshots and tags (table grants: dbt, +grants by folder).
grant usage on schema features, tags to portrait_ml;

-- activation (marketing/audiences.sql, tables created by portrait_ml): audiences, their runs
-- and members. dbt reads them for campaign KPIs, analysts for who was eligible, treated and
-- held out; the profile service reads the marts an audience filters and records the runs it
-- materialises for the marketing system (insert here; update and delete of a run's rows, which a
-- re-materialisation replaces, are granted with the tables in audiences.sql).
grant usage on schema activation to portrait_transformer, portrait_service, portrait_analysts;
grant select on all tables in schema activation
to portrait_transformer, portrait_service, portrait_analysts;
alter default privileges for role portrait_ml in schema activation
grant select on tables to portrait_transformer, portrait_service, portrait_analysts;
alter default privileges for role portrait_ml in schema activation
grant insert on tables to portrait_service;

-- marts: masked values for analysts, people and the profile service (table grants: dbt);
-- portrait_ml for the campaign marts only (the uplift model's training rows, the campaigns
-- whose window closed: dbt grants it those tables, models/marts/marketing).
grant usage on schema marts to portrait_analysts, portrait_sales, portrait_credit,
portrait_service_staff, portrait_stewards, portrait_service, portrait_ml;
-- marts_restricted: clear personal values for stewards (sales rows under row-level security).
grant usage on schema marts_restricted to portrait_stewards, portrait_sales, portrait_service;

-- audit: the profile service appends its access log; stewards read it.
grant usage on schema audit to portrait_service, portrait_stewards;
alter default privileges for role portrait_admin in schema audit
grant insert on tables to portrait_service;
alter default privileges for role portrait_admin in schema audit
grant usage on sequences to portrait_service;
alter default privileges for role portrait_admin in schema audit
grant select on tables to portrait_stewards;

-- governance: which CRM owner_sales a sales login is (row-level security reads it as the
-- querying login), and the erasure log.
create table if not exists governance.staff_logins (
    login name primary key,
    owner_sales text not null
);
alter table governance.staff_logins owner to portrait_admin;
grant usage on schema governance to portrait_sales, portrait_stewards, portrait_transformer;
grant select on governance.staff_logins to portrait_sales, portrait_stewards, portrait_transformer;
alter default privileges for role portrait_admin in schema governance
grant select on tables to portrait_stewards;
