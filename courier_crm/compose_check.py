"""Static checks of docker-compose.yml: the deployment keeps the promises the code relies on.

    python -m courier_crm.compose_check docker-compose.yml

No Docker is needed: the file is parsed (YAML merge keys such as `<<: *app-env` are resolved by
PyYAML) and `${VAR}`-style interpolation is resolved textually — a default is used when one is
given, otherwise the variable becomes the placeholder `__VAR__`. The checks:

- services postgres, redis, migrate, web, worker and beat exist;
- migrate, web, worker and beat run the same image (same `build` and `image`);
- web, worker and beat wait for postgres and redis to be healthy (directly or through migrate)
  and for migrate to complete successfully; migrate waits for postgres;
- web, worker and beat connect with DATABASE_URL as the application role — not the owner role,
  not the postgres superuser — and carry no DATABASE_OWNER_URL / CRM_DB_AS_OWNER; migrate has
  DATABASE_OWNER_URL and CRM_DB_AS_OWNER=1; CRM_DB_APP_ROLE, when set, names the DATABASE_URL user;
- database URLs point at the `postgres` service, REDIS_URL at the `redis` service;
- app services use DJANGO_SETTINGS_MODULE=courier_crm.settings.production;
- secrets (passwords, secret and master keys, URL passwords) are interpolated, never literal;
- postgres and redis have healthchecks; worker runs `celery … worker` (without an embedded
  beat) and beat runs `celery … beat`; web exposes or publishes port 8000;
- postgres mounts an init script into /docker-entrypoint-initdb.d and that file exists.

Exit status 0 and "<file>: OK (N services)" when everything holds; otherwise one line per
problem and exit status 1 (2 when the file cannot be read or parsed).
"""
from __future__ import annotations

import re
import shlex
import sys
from pathlib import Path
from urllib.parse import urlsplit

import yaml

REQUIRED_SERVICES = ("postgres", "redis", "migrate", "web", "worker", "beat")
RUNTIME_SERVICES = ("web", "worker", "beat")
APP_SERVICES = ("migrate", *RUNTIME_SERVICES)
PRODUCTION_SETTINGS = "courier_crm.settings.production"
INIT_DIR = "/docker-entrypoint-initdb.d"
GATING_CONDITIONS = {"service_healthy", "service_completed_successfully"}
TRUE_VALUES = {"1", "true", "yes", "y", "on", "ok"}

SECRET_KEY_RE = re.compile(r"(PASSWORD|SECRET|SECRET_KEY|MASTER_KEY|TOKEN)$")
PLACEHOLDER_RE = re.compile(r"^(?:__[A-Za-z_][A-Za-z0-9_]*?__)+$")
_NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


class ComposeFileError(Exception):
    """The compose file cannot be read or is not a compose file at all."""


# --- interpolation ---------------------------------------------------------------------------


def _placeholder(name: str) -> str:
    return f"__{name}__"


def _closing_brace(text: str, start: int) -> int:
    """Index of the `}` closing the `${` whose body starts at `start` (nested `${…}` allowed)."""
    depth = 1
    i = start
    while i < len(text):
        if text.startswith("$$", i):
            i += 2
            continue
        if text.startswith("${", i):
            depth += 1
            i += 2
            continue
        if text[i] == "}":
            depth -= 1
            if depth == 0:
                return i
        i += 1
    raise ValueError(f"unterminated ${{ in {text!r}")


def _resolve_braced(body: str) -> str:
    match = _NAME_RE.match(body)
    if not match:
        raise ValueError(f"invalid variable reference ${{{body}}}")
    name, rest = match.group(), body[match.end():]
    if not rest:
        return _placeholder(name)
    for operator in (":-", "-"):
        if rest.startswith(operator):
            # Unknown at check time; the committed default is what we can inspect.
            return interpolate(rest[len(operator):])
    for operator in (":?", "?"):
        if rest.startswith(operator):
            return _placeholder(name)
    for operator in (":+", "+"):
        if rest.startswith(operator):
            # The replacement applies only when the variable is set, which we cannot know.
            return ""
    raise ValueError(f"invalid variable reference ${{{body}}}")


def interpolate(text: str) -> str:
    """Compose-style interpolation without values: `$$` → `$`, `${VAR:-default}` → default,
    `${VAR}`, `$VAR` and `${VAR:?message}` → `__VAR__`."""
    out: list[str] = []
    i = 0
    while i < len(text):
        if text.startswith("$$", i):
            out.append("$")
            i += 2
        elif text.startswith("${", i):
            end = _closing_brace(text, i + 2)
            out.append(_resolve_braced(text[i + 2:end]))
            i = end + 1
        elif text[i] == "$" and (match := _NAME_RE.match(text, i + 1)):
            out.append(_placeholder(match.group()))
            i = match.end()
        else:
            out.append(text[i])
            i += 1
    return "".join(out)


def _interpolate_tree(node):
    if isinstance(node, str):
        return interpolate(node)
    if isinstance(node, list):
        return [_interpolate_tree(item) for item in node]
    if isinstance(node, dict):
        return {key: _interpolate_tree(value) for key, value in node.items()}
    return node


# --- reading services ------------------------------------------------------------------------


def _scalar(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _read_env_file(path: Path) -> dict[str, str]:
    values = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, value = line.split("=", 1)
        values[key.removeprefix("export ").strip()] = value.strip().strip("'\"")
    return values


def _env_file_paths(service: dict) -> list[str]:
    entries = service.get("env_file") or []
    if isinstance(entries, str | dict):
        entries = [entries]
    return [entry["path"] if isinstance(entry, dict) else entry for entry in entries]


def service_environment(service: dict, base_dir: Path) -> dict[str, str]:
    """The service's environment: env_file(s) that exist, overridden by `environment`."""
    env: dict[str, str] = {}
    for name in _env_file_paths(service):
        path = base_dir / name
        if path.is_file():
            env.update(_read_env_file(path))
    environment = service.get("environment") or {}
    if isinstance(environment, list):
        for item in environment:
            key, _, value = str(item).partition("=")
            env[key] = value
    else:
        env.update({key: _scalar(value) for key, value in environment.items()})
    return env


def _dependencies(service: dict) -> dict[str, str | None]:
    """{dependency: condition}; the short list form has no conditions."""
    depends_on = service.get("depends_on") or {}
    if isinstance(depends_on, list):
        return {name: None for name in depends_on}
    return {name: (spec or {}).get("condition") for name, spec in depends_on.items()}


def _command_words(service: dict) -> list[str]:
    command = service.get("command") or []
    if isinstance(command, str):
        return shlex.split(command)
    return [str(word) for word in command]


def _container_ports(service: dict) -> set[str]:
    ports = {str(port).split("/")[0] for port in service.get("expose") or []}
    for entry in service.get("ports") or []:
        if isinstance(entry, dict):
            ports.add(str(entry.get("target", "")))
        else:
            ports.add(str(entry).split("/")[0].rsplit(":", 1)[-1])
    return ports


def _bind_mounts(service: dict) -> list[tuple[str, str]]:
    """(host path, container path) of the bind mounts (named volumes are left out)."""
    mounts = []
    for entry in service.get("volumes") or []:
        if isinstance(entry, dict):
            if entry.get("type") == "bind":
                mounts.append((str(entry.get("source", "")), str(entry.get("target", ""))))
            continue
        parts = str(entry).split(":")
        if len(parts) >= 2 and parts[0].startswith((".", "/", "~")):
            mounts.append((parts[0], parts[1]))
    return mounts


def _url_user_and_host(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    return parts.username or "", parts.hostname or ""


def _is_placeholder(value: str) -> bool:
    return bool(PLACEHOLDER_RE.match(value))


# --- the checks ------------------------------------------------------------------------------


class Checker:
    def __init__(self, services: dict, base_dir: Path) -> None:
        self.services = services
        self.base_dir = base_dir
        self.errors: list[str] = []
        self.env = {
            name: service_environment(spec, base_dir)
            for name, spec in services.items() if isinstance(spec, dict)
        }

    def error(self, message: str) -> None:
        self.errors.append(message)

    def run(self) -> list[str]:
        missing = [name for name in REQUIRED_SERVICES if name not in self.services]
        if missing:
            self.error(f"missing service(s): {', '.join(missing)}")
        app_services = [name for name in APP_SERVICES if name in self.services]
        self.check_same_image(app_services)
        self.check_dependencies(app_services)
        self.check_database_roles(app_services)
        self.check_redis(app_services)
        self.check_settings_module(app_services)
        self.check_literal_secrets()
        self.check_healthchecks([name for name in ("postgres", "redis") if name in self.services])
        self.check_commands()
        self.check_web_port()
        self.check_init_script()
        return self.errors

    def check_same_image(self, names: list[str]) -> None:
        sources = {}
        for name in names:
            spec = self.services[name]
            if not spec.get("build") and not spec.get("image"):
                self.error(f"{name}: has neither `build` nor `image`")
            sources[name] = (repr(spec.get("build")), spec.get("image"))
        if len(set(sources.values())) > 1:
            described = "; ".join(
                f"{name}: build={build} image={image}" for name, (build, image) in sources.items()
            )
            self.error(f"{', '.join(names)} must use the same build/image ({described})")

    def _gated_reach(self, start: str) -> set[str]:
        """Services reached from `start` through depends_on edges that wait for health or
        successful completion (not merely for the container to have started)."""
        seen: set[str] = set()
        todo = [start]
        while todo:
            spec = self.services.get(todo.pop())
            if not isinstance(spec, dict):
                continue
            for dependency, condition in _dependencies(spec).items():
                if condition in GATING_CONDITIONS and dependency not in seen:
                    seen.add(dependency)
                    todo.append(dependency)
        return seen

    def check_dependencies(self, names: list[str]) -> None:
        for name in names:
            reached = self._gated_reach(name)
            needed = ("postgres",) if name == "migrate" else ("postgres", "redis")
            for dependency in needed:
                if dependency in self.services and dependency not in reached:
                    self.error(
                        f"{name}: does not wait for {dependency} (depends_on with "
                        "condition: service_healthy, directly or through migrate)"
                    )
            if name in RUNTIME_SERVICES and "migrate" in self.services:
                if _dependencies(self.services[name]).get("migrate") != "service_completed_successfully":
                    self.error(
                        f"{name}: must depend on migrate with condition: service_completed_successfully"
                    )

    def _owner_and_superusers(self) -> tuple[set[str], set[str]]:
        owners: set[str] = set()
        migrate_env = self.env.get("migrate", {})
        if migrate_env.get("DATABASE_OWNER_URL"):
            owners.add(_url_user_and_host(migrate_env["DATABASE_OWNER_URL"])[0])
        for env in self.env.values():
            if env.get("CRM_DB_OWNER_ROLE"):
                owners.add(env["CRM_DB_OWNER_ROLE"])
        postgres_env = self.env.get("postgres", {})
        superusers = {postgres_env.get("POSTGRES_USER") or "postgres"}
        return owners - {""}, superusers

    def _check_db_url(self, name: str, variable: str, url: str) -> str:
        user, host = _url_user_and_host(url)
        if host != "postgres":
            self.error(f"{name}: {variable} must point at the `postgres` service, not {host or url!r}")
        if not user:
            self.error(f"{name}: {variable} names no database user")
        return user

    def check_database_roles(self, names: list[str]) -> None:
        owners, superusers = self._owner_and_superusers()
        if "migrate" in names:
            self._check_migrate_role(superusers)
        app_users = set()
        for name in names:
            if name == "migrate":
                continue
            env = self.env[name]
            if "DATABASE_URL" not in env:
                self.error(f"{name}: DATABASE_URL is not set")
                continue
            user = self._check_db_url(name, "DATABASE_URL", env["DATABASE_URL"])
            if user in owners:
                self.error(f"{name}: DATABASE_URL uses the owner role {user!r}; use the application role")
            if user in superusers:
                self.error(f"{name}: DATABASE_URL uses the superuser {user!r}; use the application role")
            if "DATABASE_OWNER_URL" in env:
                self.error(f"{name}: DATABASE_OWNER_URL must only be given to migrate")
            if env.get("CRM_DB_AS_OWNER", "").strip().lower() in TRUE_VALUES:
                self.error(f"{name}: CRM_DB_AS_OWNER is set; only migrate connects as the owner")
            app_users.add(user)
        for name in names:
            app_role = self.env[name].get("CRM_DB_APP_ROLE", "")
            if app_role and app_users and app_role not in app_users:
                self.error(
                    f"{name}: CRM_DB_APP_ROLE={app_role!r} is not the DATABASE_URL user "
                    f"({', '.join(sorted(app_users))}); grants after migrate would go to the wrong role"
                )

    def _check_migrate_role(self, superusers: set[str]) -> None:
        env = self.env["migrate"]
        if "DATABASE_OWNER_URL" not in env:
            self.error("migrate: DATABASE_OWNER_URL is not set (migrations run as the owner role)")
        else:
            user = self._check_db_url("migrate", "DATABASE_OWNER_URL", env["DATABASE_OWNER_URL"])
            if user in superusers:
                self.error(f"migrate: DATABASE_OWNER_URL uses the superuser {user!r}, not the owner role")
        if env.get("CRM_DB_AS_OWNER", "").strip().lower() not in TRUE_VALUES:
            self.error("migrate: CRM_DB_AS_OWNER=1 is not set, so it would not connect as the owner")

    def check_redis(self, names: list[str]) -> None:
        for name in names:
            url = self.env[name].get("REDIS_URL")
            if not url:
                self.error(f"{name}: REDIS_URL is not set")
                continue
            host = _url_user_and_host(url)[1]
            if host != "redis":
                self.error(f"{name}: REDIS_URL must point at the `redis` service, not {host or url!r}")

    def check_settings_module(self, names: list[str]) -> None:
        for name in names:
            module = self.env[name].get("DJANGO_SETTINGS_MODULE", "")
            if module != PRODUCTION_SETTINGS:
                self.error(
                    f"{name}: DJANGO_SETTINGS_MODULE is {module or 'not set'!r}, "
                    f"expected {PRODUCTION_SETTINGS}"
                )

    def check_literal_secrets(self) -> None:
        for name, spec in self.services.items():
            environment = spec.get("environment") if isinstance(spec, dict) else None
            if not environment:
                continue
            # Only what is written in this file; env_file contents are not committed.
            written = service_environment({"environment": environment}, self.base_dir)
            for key, value in written.items():
                if SECRET_KEY_RE.search(key) and value and not _is_placeholder(value):
                    self.error(f"{name}: {key} is written in the file; take it from .env (${{{key}:?…}})")
                if key.endswith("_URL"):
                    password = urlsplit(value).password if "://" in value else None
                    if password and not _is_placeholder(password):
                        self.error(f"{name}: {key} contains a literal password; interpolate it from .env")

    def check_healthchecks(self, names: list[str]) -> None:
        for name in names:
            healthcheck = self.services[name].get("healthcheck") or {}
            test = healthcheck.get("test")
            if healthcheck.get("disable") or not test or test in (["NONE"], "NONE"):
                self.error(f"{name}: has no healthcheck (others wait for it to be healthy)")

    def _check_celery(self, name: str, subcommand: str) -> list[str]:
        if name not in self.services:
            return []
        words = _command_words(self.services[name])
        if "celery" not in words or subcommand not in words[words.index("celery") + 1:]:
            shown = " ".join(words) or "the image's default"
            self.error(f"{name}: command must run `celery -A courier_crm {subcommand}`, not {shown!r}")
        return words

    def check_commands(self) -> None:
        words = self._check_celery("worker", "worker")
        if "-B" in words or "--beat" in words:
            self.error("worker: must not embed beat (-B/--beat); the beat service sends the schedule")
        self._check_celery("beat", "beat")

    def check_web_port(self) -> None:
        if "web" in self.services and "8000" not in _container_ports(self.services["web"]):
            self.error("web: neither exposes nor publishes container port 8000")

    def check_init_script(self) -> None:
        if "postgres" not in self.services:
            return
        mounts = [
            (source, target) for source, target in _bind_mounts(self.services["postgres"])
            if target.rstrip("/") == INIT_DIR or target.startswith(INIT_DIR + "/")
        ]
        if not mounts:
            self.error(f"postgres: mounts no init script into {INIT_DIR} (the two database roles)")
        for source, _target in mounts:
            path = (self.base_dir / Path(source).expanduser()).resolve()
            if not path.exists():
                self.error(f"postgres: init script {source} does not exist ({path})")


def load_services(path: Path) -> dict:
    """The `services` mapping of the compose file, merge keys resolved and values interpolated."""
    try:
        document = yaml.safe_load(path.read_text())
    except OSError as exc:
        raise ComposeFileError(f"cannot read: {exc}") from exc
    except yaml.YAMLError as exc:
        raise ComposeFileError(f"not valid YAML: {exc}") from exc
    if not isinstance(document, dict) or not isinstance(document.get("services"), dict):
        raise ComposeFileError("no `services:` mapping")
    services = document["services"]
    bad = [name for name, spec in services.items() if not isinstance(spec, dict)]
    if bad:
        raise ComposeFileError(f"service(s) without a definition: {', '.join(bad)}")
    try:
        return _interpolate_tree(services)
    except ValueError as exc:
        raise ComposeFileError(str(exc)) from exc


def check(path: str | Path) -> list[str]:
    """The problems found in the compose file at `path` (empty when it passes)."""
    path = Path(path)
    return Checker(load_services(path), path.resolve().parent).run()


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) > 1 or (args and args[0] in {"-h", "--help"}):
        print(__doc__)
        return 2
    path = Path(args[0] if args else "docker-compose.yml")
    try:
        services = load_services(path)
    except ComposeFileError as exc:
        print(f"{path}: {exc}", file=sys.stderr)
        return 2
    errors = Checker(services, path.resolve().parent).run()
    if errors:
        for message in errors:
            print(f"{path}: {message}", file=sys.stderr)
        print(f"{path}: {len(errors)} problem(s)", file=sys.stderr)
        return 1
    print(f"{path}: OK ({len(services)} services)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
