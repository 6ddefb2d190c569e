"""What the browser tests share besides fixtures: watching a page's console, and screenshots."""
from __future__ import annotations

import os
from pathlib import Path

# Screenshots to look at after a run (never committed).
SHOTS = Path(os.environ.get("CRM_E2E_SHOTS", "/tmp/shots"))


def watch(page) -> list[str]:
    """Console errors and warnings (CSP violations are reported there) and uncaught exceptions.
    A refused form comes back with status 400, which Chromium logs for the page itself: expected."""
    problems: list[str] = []

    def on_console(msg) -> None:
        refused_form = "status of 400" in msg.text and msg.location.get("url") == page.url
        if msg.type in ("error", "warning") and not refused_form:
            problems.append(f"{page.url} {msg.type}: {msg.text}")

    page.on("console", on_console)
    page.on("pageerror", lambda exc: problems.append(f"{page.url} pageerror: {exc}"))
    return problems


def shot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"e2e-{name}.png"), full_page=True)
