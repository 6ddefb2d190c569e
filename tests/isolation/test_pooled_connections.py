"""10,000 requests alternating between two tenants over two pooled connections: no request
starts with a tenant setting left over from the previous one, and no response mixes tenants."""
import http.client
import json
import sys
import threading

from ..served import free_port, manage_output, served_database, serving

REQUESTS = 10_000
THREADS = 2


def _client_loop(port: int, tokens: dict, cycles: int, results: dict, lock: threading.Lock) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    seen = {"requests": 0, "leftover": [], "mixed": [], "pids": set(), "errors": []}

    def get(path, token=None):
        headers = {"Authorization": f"Token {token}"} if token else {}
        conn.request("GET", path, headers=headers)
        response = conn.getresponse()
        body = response.read()
        seen["requests"] += 1
        if response.status != 200:
            seen["errors"].append((path, response.status, body[:200]))
            return None
        return json.loads(body)

    for _ in range(cycles):
        for prefix, token in tokens.items():
            page = get("/api/v1/branches/?page_size=20", token)
            if page is not None:
                codes = {row["code"].split("-")[0] for row in page["results"]}
                if codes != {prefix}:
                    seen["mixed"].append(sorted(codes))
            probe = get("/_probe/connection/")
            if probe is not None:
                seen["pids"].add(probe["pid"])
                if probe["tenant"] not in (None, "") or probe["user"] not in (None, ""):
                    seen["leftover"].append(probe)
    conn.close()
    with lock:
        for key in ("leftover", "mixed", "errors"):
            results[key] += seen[key]
        results["pids"] |= seen["pids"]
        results["requests"] += seen["requests"]


def test_pooled_connections_never_carry_a_tenant_over():
    with served_database("pool") as env:
        tokens = {
            "SD": manage_output(env, "create_api_token", "--tenant", "shunda", "--user", "shunda_agent"),
            "XJ": manage_output(env, "create_api_token", "--tenant", "xunjie", "--user", "xunjie_agent"),
        }
        port = free_port()
        command = [sys.executable, "-m", "gunicorn", "courier_crm.wsgi:application",
                   "-b", f"127.0.0.1:{port}", "-w", "1", "--threads", "4", "-k", "gthread"]
        server_env = dict(env, DJANGO_SETTINGS_MODULE="tests.isolation.pool_settings")
        results = {"leftover": [], "mixed": [], "errors": [], "pids": set(), "requests": 0}
        lock = threading.Lock()
        cycles = REQUESTS // (THREADS * 4)
        with serving(command, server_env, port):
            threads = [threading.Thread(target=_client_loop, args=(port, tokens, cycles, results, lock))
                       for _ in range(THREADS)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(timeout=600)
    assert results["requests"] == REQUESTS
    assert results["errors"] == []
    assert results["leftover"] == []
    assert results["mixed"] == []
    assert 1 <= len(results["pids"]) <= 2, "the server must work over the two pooled connections"
