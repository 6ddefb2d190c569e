"""The agent console as a customer-service agent uses it in Chromium: take a call, look the caller
up by phone, open a complaint for the customer found (routed to the complaints team and assigned
automatically), answer it with a macro (the ticket then waits for the customer), be stopped when
sending an empty reply without losing what was chosen, open a second ticket for the same customer
and merge it into the first; a customer's request through the company's public web form shows up
in the team queue.

The service desk is set up the way the ticket tests set it up (tests/tickets/conftest.py
`build_desk`: a complaints team of two agents with a routing rule for complaints, SLA defaults, the
person customer 王小明 on 13800138001 and the macro 致歉), loaded into this module's served company
database by `manage.py shell`, as the exception-queue test loads its tracking events."""
import re
from pathlib import Path

import pytest

from ..served import MANAGE, free_port, manage_output, served_database, serving

pytestmark = pytest.mark.browser

SHOTS = Path("/tmp/shots")
TENANT = "alpha"                          # tenant A of the tests' two-tenant world
AGENT = f"{TENANT}_agent"                 # the first member of the complaints team
PASSWORD = "Test-Passw0rd-2026"           # tests/factories/world.py
PHONE = "13800138001"
E164 = "+86" + PHONE                     # how the lookup normalises it
CUSTOMER = "王小明"
MACRO = "致歉"
SUBJECT_1 = "快件外包装破损，要求赔偿"
SUBJECT_2 = "再次来电：破损件还没人联系"
NOTE_2 = "客户第二次来电，语气很急"
PUBLIC_PHONE = "13900007777"
PUBLIC_TEXT = "快递员态度很差，把包裹扔在门口。\n希望尽快处理。"

SETUP = f"""
from tests.factories.world import build_tenant
from tests.tickets.conftest import build_desk
tw = build_tenant({TENANT!r}, "甲快递", "1381234")
desk = build_desk(tw, {PHONE!r})
print("desk ready", desk.team.pk, desk.person.pk, desk.macro.pk)
"""


@pytest.fixture(scope="module")
def e2e_server():
    """This module's own served company database: the demo data plus tenant A's service desk."""
    with served_database("e2e_console") as env:
        summary = manage_output(env, "shell", "-c", SETUP)
        assert "desk ready" in summary, summary
        port = free_port()
        with serving([*MANAGE, "runserver", f"127.0.0.1:{port}", "--noreload"], dict(env, DJANGO_DEBUG="1"),
                     port) as url:
            yield url


def watch(page) -> list[str]:
    """Console errors and warnings (CSP violations among them) and uncaught exceptions; a form
    refused with status 400 is logged by Chromium for the page itself: expected."""
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
    page.screenshot(path=str(SHOTS / f"e2e-console-{name}.png"), full_page=True)


def click_and_wait(page, locator) -> None:
    with page.expect_navigation():
        locator.click()
    page.wait_for_load_state("networkidle")


def action_form(page, action: str):
    """One of the ticket page's forms, by its hidden `action` value."""
    return page.locator(f"form:has(input[name=action][value={action}])")


def ticket_number(page) -> str:
    return page.inner_text("h1").split(" · ")[0].strip()


def ticket_id(page, base: str) -> int:
    match = re.fullmatch(rf"{re.escape(base)}/tickets/(\d+)/", page.url)
    assert match, page.url
    return int(match.group(1))


def status_label(value: str) -> str:
    """A ticket status as the zh-hans page shows it."""
    from django.utils import translation

    from tickets.models import TicketStatus

    with translation.override("zh-hans"):
        return str(TicketStatus(value).label)


def look_up(page, base: str, query: str, *, press_enter: bool = False):
    """The phone-call flow: type what the caller says; the candidates appear under the box (htmx)."""
    page.goto(f"{base}/console/call/")
    page.wait_for_load_state("networkidle")
    if press_enter:
        page.fill("#id_q", query)
        page.press("#id_q", "Enter")
    else:
        page.locator("#id_q").press_sequentially(query, delay=20)
    card = page.locator("#lookup-results .caller-card").first
    card.wait_for()
    page.wait_for_load_state("networkidle")
    return card


def open_ticket(page, card, subject: str) -> None:
    """From a customer's card: the new-ticket form for them, a complaint, opened."""
    click_and_wait(page, card.locator("a[href*='/console/new/']"))
    assert page.input_value("#id_caller_phone") == E164            # carried over from the lookup
    assert page.input_value("#id_customer_id")
    assert page.input_value("#id_channel") == "phone"
    page.select_option("#id_category", "complaint")
    page.fill("#id_subject", subject)
    page.fill("#id_description", "客户来电：" + subject)
    click_and_wait(page, page.locator("form:has(#id_subject) button"))


def test_agent_takes_a_call_answers_with_a_macro_and_merges_a_duplicate(login, page, e2e_server):
    base = e2e_server
    problems = watch(page)
    login(AGENT, PASSWORD)
    page.goto(f"{base}/console/")
    page.wait_for_load_state("networkidle")
    assert page.locator("#queue-tabs").count() == 1 and page.locator("#queue-table").count() == 1
    assert page.locator("#queue-table .queue-row").count() == 0     # nothing assigned yet

    # take a call: the caller's number finds the customer as it is typed
    click_and_wait(page, page.locator("#take-call"))
    assert page.url == f"{base}/console/call/"
    page.locator("#id_q").press_sequentially(PHONE, delay=20)
    card = page.locator("#lookup-results .caller-card")
    card.first.wait_for()
    page.wait_for_load_state("networkidle")
    assert card.count() == 1
    assert CUSTOMER[0] in card.inner_text()
    new_link = card.locator("a[href*='/console/new/']").first.get_attribute("href")
    assert "customer_id=" in new_link and "caller_phone=%2B86" + PHONE in new_link, new_link
    assert page.locator("#unknown-caller").count() == 1
    shot(page, "01-call-lookup")

    # a complaint for this customer: routed to the complaints team and assigned automatically
    open_ticket(page, card, SUBJECT_1)
    first_id = ticket_id(page, base)
    first = ticket_number(page)
    assert SUBJECT_1 in page.inner_text("h1")
    assert page.inner_text("#ticket-assignee").strip() not in ("", "—")
    assert page.locator("#ticket-timeline .timeline-created").count() == 1
    assert page.locator("#ticket-timeline .timeline-assigned").count() == 1
    assert page.inner_text("#ticket-status").strip() == status_label("assigned")

    # the macro's text, with the ticket's number and the customer's masked name, into the reply box
    page.select_option("#macro-picker", label=MACRO)
    page.wait_for_function("n => document.getElementById('id_reply-body').value.includes(n)", arg=first)
    text = page.input_value("#id_reply-body")
    assert "您好" in text and CUSTOMER not in text, text             # names are masked in macro texts
    assert page.input_value("#id_reply-macro_id")
    shot(page, "02-ticket-macro")
    click_and_wait(page, page.locator("#reply-form button"))
    assert page.url == f"{base}/tickets/{first_id}/"
    reply = page.locator("#ticket-timeline .timeline-reply")
    assert reply.count() == 1 and first in reply.inner_text()
    assert page.inner_text("#ticket-status").strip() == status_label("waiting_customer")
    assert page.input_value("#id_reply-body") == ""
    shot(page, "03-ticket-replied")

    # an empty reply is refused in place (400): the error shows, nothing chosen is lost, nothing changes
    events = page.locator("#ticket-timeline > li").count()
    page.check("input[name=reply-kind][value=reply]")
    page.select_option("#id_reply-stage", "result")
    page.select_option("#id_reply-then_status", "resolved")
    with page.expect_response(lambda r: r.request.method == "POST" and r.url == f"{base}/tickets/{first_id}/") as sent:
        click_and_wait(page, page.locator("#reply-form button"))
    assert sent.value.status == 400
    assert page.url == f"{base}/tickets/{first_id}/"
    error = page.locator("#reply-form .invalid-feedback")
    assert error.count() == 1 and error.inner_text().strip()
    assert page.input_value("#id_reply-stage") == "result"
    assert page.input_value("#id_reply-then_status") == "resolved"
    assert page.is_checked("input[name=reply-kind][value=reply]")
    assert page.locator("#ticket-timeline > li").count() == events
    assert page.inner_text("#ticket-status").strip() == status_label("waiting_customer")
    shot(page, "04-empty-reply")

    # the same customer calls again (looked up with Enter this time): the card lists the first ticket
    card = look_up(page, base, PHONE, press_enter=True)
    assert first in card.inner_text()
    open_ticket(page, card, SUBJECT_2)
    second_id = ticket_id(page, base)
    second = ticket_number(page)
    assert second != first
    page.check("input[name=reply-kind][value=note]")
    page.fill("#id_reply-body", NOTE_2)
    click_and_wait(page, page.locator("#reply-form button"))
    assert NOTE_2 in page.inner_text("#ticket-timeline .timeline-note")

    # merge the second into the first, from the first's page: its timeline shows on the first
    page.goto(f"{base}/tickets/{first_id}/")
    page.wait_for_load_state("networkidle")
    merge = action_form(page, "merge")
    merge.locator(f"input[name=merge-duplicates][value='{second_id}']").check()
    merge.locator("[name=merge-reason]").fill("同一件事重复来电")
    click_and_wait(page, merge.locator("button"))
    assert page.url == f"{base}/tickets/{first_id}/"
    timeline = page.locator("#ticket-timeline")
    note = timeline.locator(".timeline-note", has_text=NOTE_2)
    assert note.count() == 1 and second in note.inner_text()          # marked "from <second>"
    assert timeline.locator(".timeline-created").count() == 2
    assert second in timeline.locator(".timeline-merged").first.inner_text()
    assert action_form(page, "merge").count() == 0                    # no other open ticket left
    shot(page, "05-ticket-merged")
    page.goto(f"{base}/tickets/{second_id}/")
    page.wait_for_load_state("networkidle")
    assert page.locator(f".alert a[href='/tickets/{first_id}/']").inner_text().strip() == first
    assert page.locator("#reply-form").count() == 0                   # a merged ticket takes no replies

    # a customer writes through the public form (no login)…
    page.context.clear_cookies()
    page.goto(f"{base}/p/{TENANT}/support/")
    page.wait_for_load_state("networkidle")
    page.fill("#id_name", "李大海")
    page.fill("#id_phone", PUBLIC_PHONE)
    page.fill("#id_email", "lidahai@example.com")
    page.select_option("#id_category", "complaint")
    page.fill("#id_description", PUBLIC_TEXT)
    page.check("#id_consent")
    click_and_wait(page, page.locator("form:has(#id_consent) button"))
    done = page.locator("#public-ticket-done")
    assert done.count() == 1
    public = done.locator("strong").inner_text().strip()
    assert re.fullmatch(r"\S+", public) and public not in (first, second), public
    shot(page, "06-public-done")

    # …and the agent finds it in the team queue
    login(AGENT, PASSWORD)
    page.goto(f"{base}/console/?view=team")
    page.wait_for_load_state("networkidle")
    rows = page.locator("#queue-table .queue-row")
    row = rows.filter(has=page.locator(f"a:text-is('{public}')"))
    assert row.count() == 1
    assert PUBLIC_TEXT.splitlines()[0][:20] in row.inner_text()
    assert rows.filter(has=page.locator(f"a:text-is('{first}')")).count() == 1
    assert rows.filter(has=page.locator(f"a:text-is('{second}')")).count() == 0   # merged: not open work
    assert page.locator("#queue-tabs a.active[href='?view=team']").count() == 1
    shot(page, "07-console-team")
    click_and_wait(page, row.locator("td").first)                     # a click on the row opens it
    assert re.fullmatch(rf"{re.escape(base)}/tickets/\d+/", page.url), page.url
    assert public in page.inner_text("h1")
    assert problems == [], "\n".join(problems)
