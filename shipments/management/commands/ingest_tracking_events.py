"""Load tracking events from a file: a JSON array, or JSON Lines (one event per line).

    manage.py ingest_tracking_events --tenant shunda events.jsonl [--batch-size 5000]

Events go through the same service as the batch API, in batches; rejected events are listed with
their position in the file and the reason, and the rest are stored."""
from __future__ import annotations

import json
from pathlib import Path

from django.core.management.base import CommandError

from tenancy.management.base import TenantCommand

from ... import rules, services


def _read(path: Path):
    """Yield (line or position number, raw event) from a JSON array or JSON Lines file."""
    with path.open(encoding="utf-8") as handle:
        head = handle.read(1)
        while head and head.isspace():
            head = handle.read(1)
        handle.seek(0)
        if head == "[":
            try:
                events = json.load(handle)
            except json.JSONDecodeError as exc:
                raise CommandError(f"{path}: not valid JSON ({exc})") from exc
            yield from enumerate(events, start=1)
            return
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                yield number, json.loads(line)
            except json.JSONDecodeError as exc:
                yield number, {"__invalid_json__": str(exc)}


class Command(TenantCommand):
    help = "Ingest tracking events from a JSON or JSON Lines file for one tenant."

    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.add_argument("path", type=Path)
        parser.add_argument("--batch-size", type=int, default=1000)

    def handle(self, *args, path: Path, batch_size: int, **options):
        if not path.is_file():
            raise CommandError(f"{path}: no such file")
        if not 1 <= batch_size <= rules.BATCH_MAX_EVENTS:
            raise CommandError(f"--batch-size must be between 1 and {rules.BATCH_MAX_EVENTS}")
        totals = {"received": 0, "stored": 0, "duplicates": 0, "rejected": 0, "waybills_created": 0,
                  "tickets_opened": 0}
        batch, positions = [], []

        def flush():
            result = services.tracking_events_ingest(batch)
            for key in ("received", "stored", "duplicates", "waybills_created", "tickets_opened"):
                totals[key] += getattr(result, key)
            totals["rejected"] += len(result.rejected)
            for rejected in result.rejected:
                self.stderr.write(f"line {positions[rejected['index']]}: {rejected['field'] or 'event'}: "
                                  f"{rejected['reason']}")
            batch.clear()
            positions.clear()

        for position, raw in _read(path):
            batch.append(raw)
            positions.append(position)
            if len(batch) >= batch_size:
                flush()
        if batch:
            flush()
        self.stdout.write(", ".join(f"{key} {value}" for key, value in totals.items()))
