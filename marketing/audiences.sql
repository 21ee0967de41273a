-- activation: audiences (saved, versioned customer filters), their runs per campaign and the
-- members of each run with their assignment. Run by marketing.audiences.ensure_tables as
-- portrait_ml, the schema's owner (governance/roles.sql creates the schema and grants reads);
-- idempotent.

create table if not exists activation.audiences (
    audience_id text not null,
    version integer not null check (version >= 1),
    name text not null,
    description text,
    -- the filter as the profile API's query parameters (marketing.filters.CustomerFilter)
    filter jsonb not null,
    holdout_share numeric(5, 4) not null check (holdout_share >= 0 and holdout_share < 1),
    created_at timestamptz not null default now(),
    created_by text not null,
    primary key (audience_id, version)
);

create table if not exists activation.audience_runs (
    run_id text primary key,
    audience_id text not null,
    version integer not null,
    campaign_id text not null,
    -- the profile mart's features_as_of_date the eligibility was read from
    as_of date not null,
    materialised_at timestamptz not null default now(),
    eligible integer not null,
    treatment integer not null,
    holdout integer not null,
    seed bigint not null,
    foreign key (audience_id, version) references activation.audiences (audience_id, version)
);
create index if not exists audience_runs_campaign_idx on activation.audience_runs (campaign_id);

create table if not exists activation.audience_members (
    run_id text not null references activation.audience_runs (run_id) on delete cascade,
    campaign_id text not null,
    cid text not null,
    assignment text not null check (assignment in ('treatment', 'holdout')),
    bucket double precision not null check (bucket >= 0 and bucket < 1),
    primary key (run_id, cid)
);
create index if not exists audience_members_campaign_idx
on activation.audience_members (campaign_id, cid);

-- The campaigns whose A/B evaluation ran once their response window had closed (the campaign
-- DAGs: portrait_campaigns emits the marketing asset for the newly closed ones, and
-- portrait_campaign_evaluation records them here after writing their reports).
create table if not exists activation.campaign_evaluations (
    campaign_id text primary key,
    evaluated_at timestamptz not null default now(),
    verdict text,
    report text
);

comment on table activation.audiences is
'Saved customer filters (the profile API''s query parameters) with a holdout share; a new version only when the filter or the share changes.';
comment on table activation.audience_runs is
'One materialisation of an audience version for a campaign on a profile snapshot (as_of): eligible, treated and held-out counts.';
comment on table activation.audience_members is
'Who was eligible in a run and whether treated or held out; bucket = sha256(seed:campaign:cid) as a fraction; a campaign keeps a customer''s first assignment.';

-- The profile service materialises runs for the marketing system (governance/roles.sql grants
-- select and insert by default privilege): a run re-materialised replaces its own rows.
grant update, delete on activation.audience_runs, activation.audience_members
to portrait_service;
