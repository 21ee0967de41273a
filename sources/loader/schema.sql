-- The raw schema's bookkeeping: the batch and file ledgers, the quarantine, the casts
-- that return null instead of raising, the bookkeeping columns' defaults and the direct
-- COPY's check trigger. Run by sources.loader.ensure_raw_schema (idempotent); the raw
-- tables themselves follow the contract and are created there.

-- governance/roles.sql creates the schema for its owner; `create schema if not exists`
-- would need the database's CREATE privilege even when the schema exists.
do $$ begin if to_regnamespace('raw') is null then create schema raw; end if; end $$;

create table if not exists raw._batches (
    source text not null,
    batch_id text not null,
    extracted_at timestamptz,
    loaded_at timestamptz not null,
    files integer not null,
    records bigint not null,
    loaded bigint not null,
    quarantined bigint not null,
    status text not null,
    primary key (source, batch_id)
);
-- Why the last load of the batch failed or was skipped (null when it loaded).
alter table raw._batches add column if not exists error text;
-- When the batch first loaded. A re-delivery under the same batch id keeps it, and so do its
-- rows' _loaded_at: a corrected batch keeps its place among the versions of a record (and
-- rewrites what was known from then on) instead of becoming the newest version. Null for a
-- batch that never loaded.
alter table raw._batches add column if not exists first_loaded_at timestamptz;

create table if not exists raw._batch_files (
    source text not null,
    batch_id text not null,
    file text not null,
    table_name text not null,
    records bigint not null,
    loaded bigint not null,
    quarantined bigint not null,
    extra_columns text[] not null default '{}',
    parser text not null,
    status text not null,
    loaded_at timestamptz not null,
    primary key (source, batch_id, file)
);

create table if not exists raw._quarantine (
    source text not null,
    table_name text not null,
    batch_id text not null,
    file text not null,
    row_number bigint,
    column_name text,
    reason text not null,
    raw_line text,
    _loaded_at timestamptz not null
);
create index if not exists _quarantine_batch on raw._quarantine (source, batch_id);

-- PostgreSQL 15 has no pg_input_is_valid: these return null instead of raising. Casts that
-- depend on the session's TimeZone/DateStyle can only be stable, the others are immutable.
create or replace function raw._try_bigint(value text) returns bigint
language plpgsql immutable strict parallel safe as $$
begin
    return value::bigint;
exception when others then
    return null;
end $$;

create or replace function raw._try_numeric(value text) returns numeric
language plpgsql immutable strict parallel safe as $$
begin
    return value::numeric;
exception when others then
    return null;
end $$;

create or replace function raw._try_boolean(value text) returns boolean
language plpgsql immutable strict parallel safe as $$
begin
    return value::boolean;
exception when others then
    return null;
end $$;

create or replace function raw._try_date(value text) returns date
language plpgsql stable strict parallel safe as $$
begin
    return value::date;
exception when others then
    return null;
end $$;

create or replace function raw._try_timestamptz(value text) returns timestamptz
language plpgsql stable strict parallel safe as $$
begin
    return value::timestamptz;
exception when others then
    return null;
end $$;

-- Zone abbreviations in a timestamp (CST is US Central to PostgreSQL, China Standard Time to
-- a Chinese export): the first word of value that is one of abbrevs (upper case), or null.
-- A word is a run of letters after a digit (blanks, +, - or ( between), not joined to '/'
-- or '_' (Asia/Shanghai is a zone name); the loader's byte scan (zones.py) uses this rule.
create or replace function raw._zone_word(value text, abbrevs text[]) returns text
language sql immutable strict parallel safe as $$
    select w from (
        select upper(m[1]) as w
        from regexp_matches(value, '[0-9][ \t+(-]*([A-Za-z]+)(?![A-Za-z/_])', 'g') as m
    ) as words
    where w = any(abbrevs)
    limit 1
$$;

-- A timestamp written with a zone abbreviation the contract maps (aliases: abbreviation ->
-- IANA zone): the value without the abbreviation, read as local time in that zone; null if
-- it has no mapped abbreviation or does not parse.
create or replace function raw._try_timestamptz_aliased(value text, aliases jsonb)
returns timestamptz
language plpgsql stable strict parallel safe as $$
declare
    word text := raw._zone_word(value, array(select jsonb_object_keys(aliases)));
begin
    if word is null then
        return null;
    end if;
    return (regexp_replace(
        value, '(?<![A-Za-z/_])' || word || '(?![A-Za-z/_])', ' ', 'gi'
    )::timestamp) at time zone (aliases ->> word);
exception when others then
    return null;
end $$;

-- Defaults of the bookkeeping columns (see META_DEFAULTS). Declared immutable on purpose:
-- PostgreSQL then folds them to a constant when a statement is planned (COPY plans its
-- defaults once per statement), instead of reading the setting for every row. The loader
-- sets the settings before each COPY and inserts explicit values everywhere else.
create or replace function raw._setting(name text) returns text
language sql immutable parallel safe as $$
    select nullif(current_setting(name, true), '')
$$;

create or replace function raw._setting_ts(name text) returns timestamptz
language sql immutable parallel safe as $$
    select nullif(current_setting(name, true), '')::timestamptz
$$;

-- After a direct COPY into a raw table: run the loader's check query (set in
-- portrait.check_sql) over the rows of that statement; a hit fails the COPY, so that the
-- loader rolls back to its savepoint and loads the file the careful way.
create or replace function raw._check_direct_load() returns trigger
language plpgsql as $$
declare
    check_sql text := current_setting('portrait.check_sql', true);
    bad boolean;
begin
    if coalesce(check_sql, '') = '' then
        return null;
    end if;
    perform set_config('portrait.check_sql', '', true);
    execute check_sql into bad;
    if bad then
        raise exception 'portrait: a row of this file needs the careful load'
            using errcode = 'data_exception';
    end if;
    return null;
end $$;
