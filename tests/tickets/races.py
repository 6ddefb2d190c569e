"""Real concurrency in tests: each job in its own thread, database connection and tenant-scoped
transaction (as the application role, under row-level security), released together by a
barrier. A module that races imports `race` and the `_empty_tables_as_the_owner` fixture (used
by pytest from the importing module's namespace) and marks its tests transactional."""
from __future__ import annotations

import threading
from collections.abc import Callable

import environ
import pytest
from django.core.exceptions import ValidationError
from django.db import connection, connections, transaction
from django.test import TransactionTestCase

from tenancy.scoping import tenant_scope
from tests.conftest import _connect_as
from tickets.models import Ticket

TIMEOUT = 30


@pytest.fixture(scope="module", autouse=True)
def _empty_tables_as_the_owner():
    """A transactional test ends by emptying every table. The application role the tests run as
    may not TRUNCATE (that is the point of it), and the append-only tables (ledger, consents,
    access log) refuse TRUNCATE by trigger even to their owner. So the clean-up alone runs as the
    owner role, as the migrations do, with the user triggers off inside its one transaction."""
    original = TransactionTestCase._fixture_teardown
    owner = environ.Env().db_url("DATABASE_OWNER_URL")

    def _fixture_teardown(self):
        settings_dict = connections["default"].settings_dict
        app = settings_dict["USER"], settings_dict["PASSWORD"]
        _connect_as(owner["USER"], owner["PASSWORD"])
        try:
            tables = connection.introspection.django_table_names(only_existing=True, include_views=False)
            quoted = [connection.ops.quote_name(t) for t in tables]
            with transaction.atomic(), connection.cursor() as cursor:
                for table in quoted:
                    cursor.execute(f"ALTER TABLE {table} DISABLE TRIGGER USER")
                cursor.execute(f"TRUNCATE {', '.join(quoted)} CASCADE")
                for table in quoted:
                    cursor.execute(f"ALTER TABLE {table} ENABLE TRIGGER USER")
        finally:
            _connect_as(*app)

    TransactionTestCase._fixture_teardown = _fixture_teardown
    yield
    TransactionTestCase._fixture_teardown = original


def race(tw, *jobs: tuple[object, Callable[[], object]]) -> list[tuple[str, object]]:
    """Run each (user, job) in its own thread, connection and tenant-scoped transaction, all
    released at once; returns ("ok", result) or ("refused", ValidationError) per job, in order."""
    barrier = threading.Barrier(len(jobs), timeout=TIMEOUT)
    outcomes: list[tuple[str, object] | None] = [None] * len(jobs)

    def run(i: int, user, job) -> None:
        try:
            with tenant_scope(tw.tenant, user=user):
                Ticket.objects.exists()  # the transaction has begun and the scope is set
                barrier.wait()
                outcomes[i] = ("ok", job())
        except ValidationError as exc:
            outcomes[i] = ("refused", exc)
        except BaseException as exc:  # noqa: BLE001 — reported to the test below, never swallowed
            outcomes[i] = ("crashed", exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, user, job)) for i, (user, job) in enumerate(jobs)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(TIMEOUT)
    assert not any(t.is_alive() for t in threads), "a transaction hung (deadlock?)"
    assert all(o is not None and o[0] != "crashed" for o in outcomes), outcomes
    return outcomes
