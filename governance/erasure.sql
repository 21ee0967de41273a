-- Erasure on request (PIPL art. 47): the log of erasures and the salted hashes of the
-- identifiers they erased, never the clear values. The loader nulls any value whose hash is
-- here in every later load (sources.loader.erasures); `portrait forget` writes them.
create schema if not exists governance;

-- One salt per installation, readable only by the schema's owner: erasure_hash (security
-- definer) is what other roles call.
create table if not exists governance.erasure_salt (
    id boolean primary key default true check (id),
    salt text not null
);
revoke all on governance.erasure_salt from public;

create table if not exists governance.erasures (
    erasure_id bigint generated always as identity primary key,
    requested_at timestamptz not null default now(),
    requested_by text not null default session_user,
    os_user text,
    request_kind text not null check (request_kind in ('contact_id', 'phone', 'email')),
    request_hash text not null,
    identifiers integer not null,
    rows_changed jsonb not null default '{}',
    rebuilt_at timestamptz
);

create table if not exists governance.erased_identifiers (
    kind text not null check (kind in ('name', 'phone', 'email')),
    hash text not null,
    erasure_id bigint not null references governance.erasures,
    primary key (kind, hash)
);

-- A value as erasures compare it: phones as their digits without a +86 / 0086 prefix,
-- e-mails lower-cased, names with their blanks collapsed and lower-cased; null if empty.
-- One expression, so that PostgreSQL inlines it (a sub-select would be planned per call).
create or replace function governance.erasure_normalized(kind text, value text)
returns text language sql immutable parallel safe as $$
    select nullif(case kind
        when 'phone' then regexp_replace(
            regexp_replace(value, '[^0-9]', '', 'g'), '^(0086|86(?=[0-9]{11}$))', ''
        )
        when 'email' then lower(btrim(value))
        else lower(regexp_replace(btrim(value), '\s+', ' ', 'g'))
    end, '')
$$;

-- The salted hash of a value of a kind, as governance.erased_identifiers keeps it (null for
-- an empty value). Inlined into the loader's statements, which read the salt once:
-- 3 microseconds a value (measured; a function reading the salt itself took 15 to 180).
create or replace function governance.erasure_digest(salt text, kind text, value text)
returns text language sql stable parallel safe as $$
    select encode(sha256(convert_to(
        salt || ':' || kind || ':' || governance.erasure_normalized(kind, value), 'UTF8'
    )), 'hex')
$$;

-- Free text (notes, ticket descriptions: the contract's free_text columns) with every erased
-- phone number and e-mail address written in it replaced by '[erased]'. Candidates: runs of
-- digits (single blanks or hyphens between them allowed, so 138-1234-5678 is one), bare digit
-- runs, and e-mail addresses; each is hashed like a column's value and compared. Names are not
-- looked for in free text: a name is a word too (张力 is tension), so replacing it would
-- change what a text says (docs/governance.md).
create or replace function governance.erased_in_text(salt text, value text)
returns text language plpgsql stable parallel safe as $$
declare
    candidate text;
    what text;
    result text := value;
begin
    if value is null or value !~ '[0-9]{5}|@' then
        return value;
    end if;
    for candidate, what in
        select m[1], 'phone' from regexp_matches(value, '(\+?[0-9](?:[ -]?[0-9]){6,16})', 'g') as m
        union
        select m[1], 'phone' from regexp_matches(value, '([0-9]{7,17})', 'g') as m
        union
        select m[1], 'email' from regexp_matches(value, '([A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,})', 'g') as m
    loop
        if exists (
            select from governance.erased_identifiers as e
            where e.kind = what and e.hash = governance.erasure_digest(salt, what, candidate)
        ) then
            result := replace(result, candidate, '[erased]');
        end if;
    end loop;
    return result;
end
$$;

-- The same hash for a role that may not read the salt (portrait forget's log).
create or replace function governance.erasure_hash(kind text, value text)
returns text language plpgsql stable security definer parallel safe
set search_path = pg_catalog, pg_temp as $$
begin
    return governance.erasure_digest((select s.salt from governance.erasure_salt as s), kind, value);
end
$$;
