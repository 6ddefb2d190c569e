"""The branch manager's exception queue and the agent's waybill lookup, as people use them in
Chromium: open the queue from the home page, filter it, expand a waybill's tracking inline,
bulk-assign two tickets, be stopped when resolving without a note, resolve with one and see
them leave the queue; an agent finds a waybill by its number and reads its timeline.

The exception tickets come the way production gets them: tracking events loaded into the
served company's database by `manage.py ingest_tracking_events` (the damage scans open them)."""
import datetime as dt
import json
import re
import tempfile

import pytest

from ..served import MANAGE, free_port, manage_output, served_database, serving
from .helpers import shot, watch

pytestmark = pytest.mark.browser

SITE = "SD-SH-PD"                  # 上海浦东网点: shunda_branch manages it, shunda_agent works there
NUMBERS = ["E2EX00000001", "E2EX00000002", "E2EX00000003"]
AGENT_NAME = "王小梅"
NOTE = "已联系收件人，补发新件"


def tracking_events() -> list[dict]:
    """Each waybill: created → picked up → arrived → damaged (which opens an exception ticket)."""
    start = (dt.datetime.now(dt.UTC) - dt.timedelta(days=2)).replace(microsecond=0)
    events = []
    for i, number in enumerate(NUMBERS):
        t = start + dt.timedelta(minutes=10 * i)
        steps = [("created", {}), ("picked_up", {}), ("arrived_at_site", {}), ("damaged", {"reason": "外包装破损"})]
        for n, (kind, attributes) in enumerate(steps):
            event = {"event_id": f"{number}-{n}", "waybill_number": number, "event_type": kind,
                     "event_time": (t + dt.timedelta(hours=n)).isoformat(), "site": SITE,
                     "operator": "" if kind == "created" else "快递员 张师傅", "attributes": attributes}
            if kind == "created":
                event["waybill"] = {"sender_customer": "B00000001", "receiver_name": "王小红",
                                    "receiver_phone": "13900001234",
                                    "receiver_address": "上海市浦东新区张杨路1588号2栋1203室",
                                    "origin": SITE, "destination": SITE, "product": "standard", "weight_kg": "1.2",
                                    "declared_value": "399", "service_fee": "12"}
            events.append(event)
    return events


@pytest.fixture(scope="module")
def e2e_server():
    """This module's own served company database (the demo data plus the tracking events above)."""
    with served_database("e2e_exceptions") as env:
        with tempfile.NamedTemporaryFile("w", suffix=".jsonl", encoding="utf-8") as handle:
            handle.write("\n".join(json.dumps(e, ensure_ascii=False) for e in tracking_events()))
            handle.flush()
            summary = manage_output(env, "ingest_tracking_events", "--tenant", "shunda", handle.name)
        assert "tickets_opened 3" in summary, summary
        port = free_port()
        with serving([*MANAGE, "runserver", f"127.0.0.1:{port}", "--noreload"], dict(env, DJANGO_DEBUG="1"),
                     port) as url:
            yield url




def row(page, number: str):
    return page.locator("table.exception-queue tbody tr", has=page.locator(f"a:text-is('{number}')"))


def click_and_wait(page, locator) -> None:
    with page.expect_navigation():
        locator.click()
    page.wait_for_load_state("networkidle")


def test_branch_manager_clears_exceptions_and_agent_finds_a_waybill(login, page, e2e_server):
    problems = watch(page)
    login("shunda_branch")
    summary = page.locator(".exception-summary")
    assert int(summary.locator(".stat").first.inner_text()) >= 3      # ours (and the demo's) are counted
    shot(page, "01-branch-home")
    click_and_wait(page, summary.locator("a.btn"))
    assert page.url == f"{e2e_server}/exceptions/"
    page.select_option("#filter_kind", "damaged")
    click_and_wait(page, page.locator("form[role=search] button"))
    for number in NUMBERS:
        assert row(page, number).count() == 1, number

    # the waybill's tracking, expanded inline under its row (and folded again)
    first = row(page, NUMBERS[0])
    first.locator("[data-toggle-fragment]").click()
    timeline = first.locator("xpath=following-sibling::tr[1]").locator(".timeline-event")
    timeline.first.wait_for()
    assert timeline.count() == 4 and "外包装破损" in timeline.last.inner_text()
    shot(page, "02-queue-timeline")
    first.locator("[data-toggle-fragment]").click()
    page.wait_for_function("() => !document.querySelector('.timeline-slot .timeline-event')")
    assert first.locator("[data-toggle-fragment]").get_attribute("aria-expanded") == "false"

    # bulk assign two tickets to the agent of the branch
    for number in NUMBERS[:2]:
        row(page, number).locator("input[name=ticket]").check()
    agent = page.locator("#id_assignee option", has_text=AGENT_NAME).get_attribute("value")
    page.select_option("#id_assignee", agent)
    click_and_wait(page, page.locator("button[name=action][value=assign]"))
    assert page.locator(".alert-success").count() == 1 and AGENT_NAME in page.inner_text(".alert-success")
    for number in NUMBERS[:2]:
        assert AGENT_NAME in row(page, number).inner_text()
    assert AGENT_NAME not in row(page, NUMBERS[2]).inner_text()
    shot(page, "03-queue-assigned")

    # resolving without saying how is refused in place: nothing changes, the ticks stay
    for number in NUMBERS[:2]:
        row(page, number).locator("input[name=ticket]").check()
    click_and_wait(page, page.locator("button[name=action][value=resolve]"))
    note_error = page.locator(".bulk-bar .invalid-feedback")
    assert note_error.count() == 1 and note_error.inner_text().strip()
    for number in NUMBERS[:2]:
        assert row(page, number).locator("input[name=ticket]").is_checked()
    assert page.locator(".alert-success").count() == 0
    shot(page, "04-resolve-needs-note")

    page.fill("#id_note", NOTE)
    click_and_wait(page, page.locator("button[name=action][value=resolve]"))
    assert page.locator(".alert-success").count() == 1
    assert row(page, NUMBERS[0]).count() == 0 and row(page, NUMBERS[1]).count() == 0
    assert row(page, NUMBERS[2]).count() == 1
    shot(page, "05-queue-after-resolve")

    # the agent looks the third waybill up by its number (typed in lower case) and reads its tracking
    page.context.clear_cookies()
    login("shunda_agent")
    page.fill("#home-waybill-q", NUMBERS[2].lower())
    click_and_wait(page, page.locator("form[role=search] button"))
    assert re.fullmatch(rf"{e2e_server}/waybills/\d+/", page.url), page.url
    assert NUMBERS[2] in page.inner_text("h1")
    assert page.locator(".timeline-event").count() == 4
    assert "139****1234" in page.content() and "13900001234" not in page.content()
    shot(page, "06-agent-waybill")
    # the same page in English
    with page.expect_navigation():
        page.select_option("select[name=language]", "en")  # the switcher submits itself (static/js/app.js)
    page.wait_for_load_state("networkidle")
    assert page.locator("html[lang=en]").count() == 1
    shot(page, "07-agent-waybill-en")
    assert problems == [], "\n".join(problems)
