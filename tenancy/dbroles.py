"""Create the two database roles and the database (the bootstrap used by `make run`,
`make test`, CI and the docker-compose init).

- owner role: owns the tables, runs migrations, may create databases (for the test database);
- application role: what web and workers connect as — NOSUPERUSER, NOBYPASSRLS, not the owner.
"""
from __future__ import annotations

import psycopg
from psycopg import sql


def _ensure_role(cur, name: str, password: str, *, createdb: bool) -> None:
    cur.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [name])
    options = sql.SQL("LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEROLE {createdb} PASSWORD {pw}").format(
        createdb=sql.SQL("CREATEDB" if createdb else "NOCREATEDB"), pw=sql.Literal(password)
    )
    verb = "ALTER" if cur.fetchone() else "CREATE"
    cur.execute(sql.SQL(verb + " ROLE {} ").format(sql.Identifier(name)) + options)


def bootstrap(admin_dsn: str, *, database: str, owner: str, owner_password: str,
              app: str, app_password: str) -> None:
    """Idempotent: roles and database are created when missing and their attributes reset."""
    with psycopg.connect(admin_dsn, autocommit=True) as conn, conn.cursor() as cur:
        _ensure_role(cur, owner, owner_password, createdb=True)
        _ensure_role(cur, app, app_password, createdb=False)
        cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", [database])
        if not cur.fetchone():
            cur.execute(sql.SQL("CREATE DATABASE {} OWNER {}").format(
                sql.Identifier(database), sql.Identifier(owner)))
    db_dsn = psycopg.conninfo.make_conninfo(admin_dsn, dbname=database)
    with psycopg.connect(db_dsn, autocommit=True) as conn, conn.cursor() as cur:
        cur.execute(sql.SQL("GRANT CONNECT ON DATABASE {} TO {}").format(
            sql.Identifier(database), sql.Identifier(app)))
        cur.execute(sql.SQL("ALTER SCHEMA public OWNER TO {}").format(sql.Identifier(owner)))
        cur.execute(sql.SQL("GRANT USAGE ON SCHEMA public TO {}").format(sql.Identifier(app)))
        cur.execute(sql.SQL(
            "ALTER DEFAULT PRIVILEGES FOR ROLE {o} IN SCHEMA public "
            "GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {a}").format(
            o=sql.Identifier(owner), a=sql.Identifier(app)))
        cur.execute(sql.SQL(
            "ALTER DEFAULT PRIVILEGES FOR ROLE {o} IN SCHEMA public "
            "GRANT USAGE, SELECT, UPDATE ON SEQUENCES TO {a}").format(
            o=sql.Identifier(owner), a=sql.Identifier(app)))
