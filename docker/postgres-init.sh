#!/usr/bin/env bash
# First start of the postgres container only (an empty data volume): one login and one
# database each for Airflow's metadata, MLflow's tracking store and portrait's warehouse.
# The warehouse's owner is portrait_migration, who may create roles: the role migration
# (`portrait warehouse up`, the warehouse-init service) creates portrait's roles and the
# component logins with the passwords of PORTRAIT_WAREHOUSE_URL_<COMPONENT>. Passwords come from the environment
# (docker/.env); none is written here, and psql receives them as variables, never in argv.
set -euo pipefail

for var in AIRFLOW_DB_PASSWORD MLFLOW_DB_PASSWORD PORTRAIT_MIGRATION_PASSWORD; do
  if [[ -z "${!var:-}" ]]; then
    echo "postgres-init: $var is not set (docker/.env)" >&2
    exit 1
  fi
done

psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres \
  -v airflow_pw="$AIRFLOW_DB_PASSWORD" \
  -v mlflow_pw="$MLFLOW_DB_PASSWORD" \
  -v migration_pw="$PORTRAIT_MIGRATION_PASSWORD" <<'SQL'
create role airflow login password :'airflow_pw';
create role mlflow login password :'mlflow_pw';
create role portrait_migration login createrole password :'migration_pw';
create database airflow owner airflow;
create database mlflow owner mlflow;
create database mlflow_auth owner mlflow;
create database portrait owner portrait_migration;
revoke all on database airflow, mlflow, mlflow_auth, portrait from public;
-- portrait's roles are the role migration's (governance/roles.py), run as portrait_migration:
-- it creates them and, not being a superuser, grants itself each one it acts for.
-- the migration reads shared_preload_libraries (is pgaudit loaded?)
grant pg_read_all_settings to portrait_migration;
SQL

# The warehouse's extensions (the role migration asks for them again, idempotently) and
# schema public for its owner only.
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname portrait <<'SQL'
create extension if not exists pg_trgm with schema public;
create extension if not exists fuzzystrmatch with schema public;
create extension if not exists unaccent with schema public;
alter schema public owner to portrait_migration;
SQL
