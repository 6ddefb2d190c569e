#!/bin/bash
# Creates Courier CRM's two database roles and its database. The postgres image runs this once,
# on the first start with an empty data volume (/docker-entrypoint-initdb.d); it does the same
# as tenancy/dbroles.py's bootstrap() does for `make run` / `make test`.
#
#   owner role       (CRM_DB_OWNER_ROLE): owns the database and the tables, runs migrations;
#                    CREATEDB (test databases), NOSUPERUSER, NOBYPASSRLS.
#   application role (CRM_DB_APP_ROLE):   what web, worker and beat connect as;
#                    NOSUPERUSER, NOBYPASSRLS, NOCREATEDB, not the owner of anything, so
#                    row-level security always applies to it.
#
# Table privileges for the application role are granted by `manage.py migrate` (post_migrate,
# tenancy/rls.py) and by the default privileges set below.
set -euo pipefail

: "${CRM_DB_NAME:?CRM_DB_NAME is not set}"
: "${CRM_DB_OWNER_ROLE:?CRM_DB_OWNER_ROLE is not set}"
: "${CRM_DB_OWNER_PASSWORD:?CRM_DB_OWNER_PASSWORD is not set}"
: "${CRM_DB_APP_ROLE:?CRM_DB_APP_ROLE is not set}"
: "${CRM_DB_APP_PASSWORD:?CRM_DB_APP_PASSWORD is not set}"

run_psql() {
    psql --no-psqlrc -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$1" \
        -v db="$CRM_DB_NAME" \
        -v owner="$CRM_DB_OWNER_ROLE" -v owner_password="$CRM_DB_OWNER_PASSWORD" \
        -v app="$CRM_DB_APP_ROLE" -v app_password="$CRM_DB_APP_PASSWORD"
}

run_psql postgres <<'SQL'
CREATE ROLE :"owner" LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEROLE CREATEDB PASSWORD :'owner_password';
CREATE ROLE :"app" LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEROLE NOCREATEDB PASSWORD :'app_password';
CREATE DATABASE :"db" OWNER :"owner";
GRANT CONNECT ON DATABASE :"db" TO :"app";
SQL

run_psql "$CRM_DB_NAME" <<'SQL'
ALTER SCHEMA public OWNER TO :"owner";
GRANT USAGE ON SCHEMA public TO :"app";
ALTER DEFAULT PRIVILEGES FOR ROLE :"owner" IN SCHEMA public
    GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO :"app";
ALTER DEFAULT PRIVILEGES FOR ROLE :"owner" IN SCHEMA public
    GRANT USAGE, SELECT, UPDATE ON SEQUENCES TO :"app";
SQL

echo "courier-crm: created roles $CRM_DB_OWNER_ROLE (owner) and $CRM_DB_APP_ROLE (application), database $CRM_DB_NAME"
