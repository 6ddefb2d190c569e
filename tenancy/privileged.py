"""The few writes the application may still make to an insert-only table, column by column.

- **redact**: blank personal text of given rows (a deletion request, the retention job);
- **reseal**: replace a ciphertext with the same value sealed under a newer key (key rotation);
- **reindex**: replace a blind index with the same value's index under a newer index key, where
  the row still holds the sealed value it was computed from (key rotation);
- **purge**: delete rows older than a floor (retention of the access log).

The columns come from the models (`redactable_fields`, the sealed columns of append-only models,
`purge_after = (time field, floor days)`) into `crm_privileged_columns`, which only the owner can
read or change. The functions run as the owner (SECURITY DEFINER), act only inside the current
tenant, and raise a transaction-local flag that `crm_reject_change` honours for their one
statement. The application role has no UPDATE or DELETE right on an append-only table, so it
cannot use the flag by itself, and nothing here can write a value of its own choosing: redaction
only blanks, resealing only swaps one sealed value for another, purging only deletes old rows.
"""
from __future__ import annotations

from django.db import connection

PRIVILEGED_COLUMNS_TABLE = """
CREATE TABLE IF NOT EXISTS crm_privileged_columns (
    table_name text NOT NULL,
    column_name text NOT NULL,
    action text NOT NULL CHECK (action IN ('redact', 'reseal', 'reindex', 'purge')),
    min_age_days integer,
    PRIMARY KEY (table_name, column_name, action)
);
"""

PRIVILEGED_FUNCTIONS = r"""
CREATE OR REPLACE FUNCTION crm_privileged_check(tbl text, col text, act text) RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE found_age integer;
BEGIN
    SELECT COALESCE(min_age_days, 0) INTO found_age FROM crm_privileged_columns
     WHERE table_name = tbl AND column_name = col AND action = act;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'column %.% does not allow %', tbl, col, act USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF NULLIF(current_setting('app.tenant_id', true), '') IS NULL THEN
        RAISE EXCEPTION 'no tenant scope' USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN found_age;
END
$$;

CREATE OR REPLACE FUNCTION crm_redact(tbl text, cols text[], ids bigint[]) RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    col text; assignments text[] := '{}'; typ text; is_required boolean; changed bigint;
BEGIN
    FOREACH col IN ARRAY cols LOOP
        PERFORM crm_privileged_check(tbl, col, 'redact');
        SELECT format_type(a.atttypid, a.atttypmod), a.attnotnull INTO typ, is_required
          FROM pg_attribute a WHERE a.attrelid = tbl::regclass AND a.attname = col AND NOT a.attisdropped;
        assignments := assignments || format('%I = %s', col, CASE
            WHEN NOT is_required THEN 'NULL'
            WHEN typ = 'jsonb' THEN $v$'{}'::jsonb$v$
            WHEN typ LIKE '%[]' THEN $v$'{}'$v$
            ELSE $v$''$v$ END);
    END LOOP;
    PERFORM set_config('crm.privileged_write', 'on', true);
    EXECUTE format('UPDATE %I SET %s WHERE tenant_id = current_setting(''app.tenant_id'')::bigint '
                   'AND id = ANY($1)', tbl, array_to_string(assignments, ', ')) USING ids;
    GET DIAGNOSTICS changed = ROW_COUNT;
    PERFORM set_config('crm.privileged_write', 'off', true);
    RETURN changed;
END
$$;

CREATE OR REPLACE FUNCTION crm_reseal(tbl text, col text, ids bigint[], olds bytea[], news bytea[])
RETURNS bigint LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE changed bigint;
BEGIN
    PERFORM crm_privileged_check(tbl, col, 'reseal');
    PERFORM set_config('crm.privileged_write', 'on', true);
    EXECUTE format('UPDATE %1$I t SET %2$I = v.new FROM unnest($1, $2, $3) AS v(id, old, new) '
                   'WHERE t.tenant_id = current_setting(''app.tenant_id'')::bigint AND t.id = v.id '
                   'AND t.%2$I = v.old AND get_byte(v.new, 0) = 1 AND length(v.new) > 33', tbl, col)
        USING ids, olds, news;
    GET DIAGNOSTICS changed = ROW_COUNT;
    PERFORM set_config('crm.privileged_write', 'off', true);
    RETURN changed;
END
$$;

CREATE OR REPLACE FUNCTION crm_reindex(tbl text, col text, source text, ids bigint[], sources bytea[],
                                       olds text[], news text[])
RETURNS bigint LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE changed bigint;
BEGIN
    PERFORM crm_privileged_check(tbl, col, 'reindex');
    PERFORM crm_privileged_check(tbl, source, 'reseal');
    PERFORM set_config('crm.privileged_write', 'on', true);
    EXECUTE format('UPDATE %1$I t SET %2$I = v.new FROM unnest($1, $2, $3, $4) AS v(id, src, old, new) '
                   'WHERE t.tenant_id = current_setting(''app.tenant_id'')::bigint AND t.id = v.id '
                   'AND t.%3$I = v.src AND t.%2$I IS NOT DISTINCT FROM v.old AND v.new ~ ''^[0-9a-f]{64}$''',
                   tbl, col, source)
        USING ids, sources, olds, news;
    GET DIAGNOSTICS changed = ROW_COUNT;
    PERFORM set_config('crm.privileged_write', 'off', true);
    RETURN changed;
END
$$;

CREATE OR REPLACE FUNCTION crm_purge(tbl text, col text, before timestamptz, max_rows integer)
RETURNS bigint LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE floor_days integer; changed bigint;
BEGIN
    floor_days := crm_privileged_check(tbl, col, 'purge');
    IF before > now() - make_interval(days => floor_days) THEN
        RAISE EXCEPTION '% keeps rows at least % days', tbl, floor_days USING ERRCODE = 'insufficient_privilege';
    END IF;
    PERFORM set_config('crm.privileged_write', 'on', true);
    EXECUTE format('DELETE FROM %1$I WHERE id IN (SELECT id FROM %1$I WHERE tenant_id = '
                   'current_setting(''app.tenant_id'')::bigint AND %2$I < $1 ORDER BY id LIMIT $2)', tbl, col)
        USING before, max_rows;
    GET DIAGNOSTICS changed = ROW_COUNT;
    PERFORM set_config('crm.privileged_write', 'off', true);
    RETURN changed;
END
$$;
"""

FUNCTION_SIGNATURES = (
    "crm_privileged_check(text, text, text)",
    "crm_redact(text, text[], bigint[])",
    "crm_reseal(text, text, bigint[], bytea[], bytea[])",
    "crm_reindex(text, text, text, bigint[], bytea[], text[], text[])",
    "crm_purge(text, text, timestamptz, integer)",
)


def privileged_columns() -> list[tuple[str, str, str, int | None]]:
    """(table, column, action, floor days) as the models declare them."""
    from .fields import BlindIndexField, EncryptedTextField
    from .rls import tenant_models

    rows = []
    for model in tenant_models():
        table = model._meta.db_table
        for name in getattr(model, "redactable_fields", ()):
            rows.append((table, model._meta.get_field(name).column, "redact", None))
        if model.append_only:
            for field in model._meta.concrete_fields:
                if isinstance(field, EncryptedTextField):
                    rows.append((table, field.column, "reseal", None))
                elif isinstance(field, BlindIndexField):
                    rows.append((table, field.column, "reindex", None))
        purge = getattr(model, "purge_after", None)
        if purge:
            rows.append((table, model._meta.get_field(purge[0]).column, "purge", purge[1]))
    return rows


def sync_privileged_writes(cursor, app_role: str | None) -> None:
    """Create the functions and refill the column list (idempotent; runs after every migrate)."""
    cursor.execute(PRIVILEGED_COLUMNS_TABLE)
    cursor.execute(PRIVILEGED_FUNCTIONS)
    cursor.execute("DELETE FROM crm_privileged_columns")
    for row in privileged_columns():
        cursor.execute("INSERT INTO crm_privileged_columns VALUES (%s, %s, %s, %s)", list(row))
    if app_role:
        role = connection.ops.quote_name(app_role)
        cursor.execute(f"REVOKE ALL ON crm_privileged_columns FROM {role}")
        for signature in FUNCTION_SIGNATURES:
            cursor.execute(f"REVOKE ALL ON FUNCTION {signature} FROM PUBLIC")
            cursor.execute(f"GRANT EXECUTE ON FUNCTION {signature} TO {role}")


# --- calls (inside a tenant scope and a transaction) ---------------------------------------------

def redact_rows(model, field_names, ids) -> int:
    """Blank `field_names` of the rows `ids` of an insert-only `model`; returns rows changed."""
    ids = list(ids)
    if not ids:
        return 0
    columns = [model._meta.get_field(name).column for name in field_names]
    with connection.cursor() as cursor:
        cursor.execute("SELECT crm_redact(%s, %s::text[], %s::bigint[])", [model._meta.db_table, columns, ids])
        return cursor.fetchone()[0]


def reseal_rows(model, field_name: str, swaps: list[tuple[int, bytes, bytes]]) -> int:
    """Swap (id, old ciphertext, new ciphertext) in an insert-only `model`; returns rows changed."""
    if not swaps:
        return 0
    ids, olds, news = zip(*swaps, strict=True)
    column = model._meta.get_field(field_name).column
    with connection.cursor() as cursor:
        cursor.execute("SELECT crm_reseal(%s, %s, %s::bigint[], %s::bytea[], %s::bytea[])",
                       [model._meta.db_table, column, list(ids), list(olds), list(news)])
        return cursor.fetchone()[0]


def reindex_rows(model, index_field: str, source_field: str,
                 swaps: list[tuple[int, bytes, str | None, str]]) -> int:
    """Swap (id, sealed source, old index, new index) in an insert-only `model`; returns rows changed."""
    if not swaps:
        return 0
    ids, sources, olds, news = (list(x) for x in zip(*swaps, strict=True))
    meta = model._meta
    with connection.cursor() as cursor:
        cursor.execute("SELECT crm_reindex(%s, %s, %s, %s::bigint[], %s::bytea[], %s::text[], %s::text[])",
                       [meta.db_table, meta.get_field(index_field).column, meta.get_field(source_field).column,
                        ids, sources, olds, news])
        return cursor.fetchone()[0]


def purge_rows(model, before, max_rows: int) -> int:
    """Delete up to `max_rows` rows of `model` older than `before` (its `purge_after` column)."""
    field_name, _floor = model.purge_after
    column = model._meta.get_field(field_name).column
    with connection.cursor() as cursor:
        cursor.execute("SELECT crm_purge(%s, %s, %s, %s)", [model._meta.db_table, column, before, max_rows])
        return cursor.fetchone()[0]
