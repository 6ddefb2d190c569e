"""API fuzzing with schemathesis against our own OpenAPI schema, authenticated as each role of
a demo company, on a served copy of the app: no server errors, responses match the schema.
Bounded per role (examples and seconds) so the whole run takes a few minutes."""
import subprocess
import sys

import pytest

from ..served import free_port, manage_output, served_database, serving

ROLE_LOGINS = {
    "agent": "shunda_agent", "sales_manager": "shunda_sales", "branch_manager": "shunda_branch",
    "auditor": "shunda_auditor", "executive": "shunda_exec", "tenant_admin": "shunda_admin",
}
CHECKS = "not_a_server_error,response_schema_conformance,content_type_conformance"


@pytest.fixture(scope="module")
def fuzz_target():
    with served_database("fuzz") as env:
        tokens = {role: manage_output(env, "create_api_token", "--tenant", "shunda", "--user", login,
                                      "--name", "fuzz") for role, login in ROLE_LOGINS.items()}
        port = free_port()
        command = [sys.executable, "-m", "gunicorn", "courier_crm.wsgi:application", "-b", f"127.0.0.1:{port}",
                   "-w", "2", "--threads", "2", "-k", "gthread"]
        with serving(command, dict(env, CRM_THROTTLE_REVEAL="100000/min"), port) as url:
            yield url, tokens


@pytest.mark.parametrize("role", list(ROLE_LOGINS))
def test_api_conforms_to_its_schema(fuzz_target, role, tmp_path):
    url, tokens = fuzz_target

    def fuzz():
        result = subprocess.run(
            [sys.executable, "-m", "schemathesis.cli", "run", f"{url}/api/schema/",
             "--header", f"Authorization: Token {tokens[role]}", "--checks", CHECKS,
             "--max-examples", "12", "--max-time", "35", "--seed", "20261123", "--workers", "2",
             "--request-timeout", "10", "--suppress-health-check", "all", "--warnings", "off",
             "--report-dir", str(tmp_path)],
            capture_output=True, text=True, timeout=240)
        return result, result.stdout + result.stderr

    result, output = fuzz()
    if result.returncode != 0 and "Runtime Error" in output and "FAILURES" not in output:
        # schemathesis itself crashed while generating data (seen once: CPython's "AST constructor
        # recursion depth mismatch"), no request failed: run it once more. Real failures of our
        # API are listed under FAILURES and are never retried.
        result, output = fuzz()
    assert result.returncode == 0, output[-6000:]
    assert "passed" in output.lower() or "ok" in output.lower()
