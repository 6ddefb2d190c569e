"""The service desk as its people use it in Chromium.

- An agent takes a call, looks the caller up by phone, opens a complaint for the customer found
  (routed to the complaints team and assigned automatically), is stopped when handing it to a
  colleague without a reason, answers it with a macro (the ticket then waits for the customer and
  its clock shows paused), is stopped when sending an empty reply without losing what was chosen,
  opens a second ticket for the same customer, writes an internal note on it and merges it into the
  first; a customer's request through the company's public web form shows up in the team queue.
- An agent looks a caller up by a waybill number, opens tickets about it; their clocks are moved
  to a warning and past their due times and the SLA sweep runs: the queue and the tickets show
  the warning, the breach and the escalation; the late ticket is resolved (a note is required)
  and reopened; the queue is worked with the keyboard (j/k/Enter, 1–5, c, /).
- An unknown caller gets a ticket of their own; the new-ticket form and the public web form keep
  what was typed when refused; the public form fits a phone's screen.
- The tenant admin sets up a team, a routing rule, an SLA policy and a holiday in a calendar.

The service desk is set up the way the ticket tests set it up (tests/tickets/conftest.py
`build_desk`: a complaints team of two agents with a routing rule for complaints, SLA defaults, the
person customer 王小明 on 13800138001 and the macro 致歉) plus one waybill 王小明 sent, loaded into
this module's served company database by `manage.py shell`, as the exception-queue test loads its
tracking events. The SLA sweep runs the same way (it has no command of its own: a Celery task)."""
import datetime as dt
import re

import pytest

from ..served import MANAGE, free_port, manage_output, served_database, serving
from .helpers import shot, watch

pytestmark = pytest.mark.browser

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
WAYBILL = "E2EC00000001"                  # sent by 王小明
ADMIN = f"{TENANT}_tenant_admin"

SETUP = f"""
from tests.factories.world import build_tenant
from tests.tickets.conftest import build_desk
tw = build_tenant({TENANT!r}, "甲快递", "1381234")
desk = build_desk(tw, {PHONE!r})
from tests.factories.shipments import ingest, recent, waybill_events
ingest(tw, waybill_events({WAYBILL!r}, start=recent(2), site=tw.branch.code, final=None,
                          sender_customer=desk.person.number))
print("desk ready", desk.team.pk, desk.person.pk, desk.macro.pk)
"""


@pytest.fixture(scope="module")
def served():
    """This module's own served company database (the demo data plus tenant A's service desk):
    the server's address and the environment of its database."""
    with served_database("e2e_console") as env:
        summary = manage_output(env, "shell", "-c", SETUP)
        assert "desk ready" in summary, summary
        port = free_port()
        with serving([*MANAGE, "runserver", f"127.0.0.1:{port}", "--noreload"], dict(env, DJANGO_DEBUG="1"),
                     port) as url:
            yield url, env


@pytest.fixture(scope="module")
def e2e_server(served):
    return served[0]


def in_tenant(env: dict, code: str) -> str:
    """Run Python in tenant A's scope against the served database (`manage.py shell`)."""
    script = "from tenancy.models import Tenant\nfrom tenancy.scoping import tenant_scope\n" \
             f"with tenant_scope(Tenant.objects.get(code={TENANT!r})):\n" \
             + "".join(f"    {line}\n" for line in code.strip().splitlines())
    return manage_output(env, "shell", "-c", script)




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


def open_ticket(page, card, subject: str, *, phone: str = E164, link: str = "a.new-for-customer") -> None:
    """From a customer's card: the new-ticket form for them, a complaint, opened."""
    click_and_wait(page, card.locator(link).first)
    assert page.input_value("#id_caller_phone") == phone           # carried over from the lookup
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
    shot(page, "console-01-call-lookup")

    # a complaint for this customer: routed to the complaints team and assigned automatically
    open_ticket(page, card, SUBJECT_1)
    first_id = ticket_id(page, base)
    first = ticket_number(page)
    assert SUBJECT_1 in page.inner_text("h1")
    assert page.inner_text("#ticket-assignee").strip() not in ("", "—")
    assert page.locator("#ticket-timeline .timeline-created").count() == 1
    assert page.locator("#ticket-timeline .timeline-assigned").count() == 1
    assert page.inner_text("#ticket-status").strip() == status_label("assigned")

    # handing it to the colleague needs a reason: refused first (the choice kept), then done
    assignee = page.inner_text("#ticket-assignee").strip()
    assign = action_form(page, "assign")
    other = assign.locator("#id_assign-assignee option").filter(has_not_text=assignee).last
    colleague = other.get_attribute("value")
    assert colleague and other.inner_text().split(" · ")[0] != assignee
    assign.locator("#id_assign-assignee").select_option(colleague)
    click_and_wait(page, assign.locator("button"))
    assign = action_form(page, "assign")
    assert assign.locator(".invalid-feedback").count() == 1
    assert assign.locator("#id_assign-assignee").input_value() == colleague
    assert page.inner_text("#ticket-assignee").strip() == assignee
    shot(page, "console-02a-assign-reason")
    assign.locator("#id_assign-note").fill("同事负责上海浦东片区")
    click_and_wait(page, assign.locator("button"))
    assert page.inner_text("#ticket-assignee").strip() != assignee
    assert page.locator("#ticket-timeline .timeline-assigned").count() == 2

    # the macro's text, with the ticket's number and the customer's masked name, into the reply box
    page.select_option("#macro-picker", label=MACRO)
    page.wait_for_function("n => document.getElementById('id_reply-body').value.includes(n)", arg=first)
    text = page.input_value("#id_reply-body")
    assert "您好" in text and CUSTOMER not in text, text             # names are masked in macro texts
    assert page.input_value("#id_reply-macro_id")
    shot(page, "console-02-ticket-macro")
    click_and_wait(page, page.locator("#reply-form button"))
    assert page.url == f"{base}/tickets/{first_id}/"
    reply = page.locator("#ticket-timeline .timeline-reply")
    assert reply.count() == 1 and first in reply.inner_text()
    assert page.inner_text("#ticket-status").strip() == status_label("waiting_customer")
    assert page.locator("#sla-paused").count() == 1                  # the clock stops while the customer is asked
    assert page.input_value("#id_reply-body") == ""
    shot(page, "console-03-ticket-replied")

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
    shot(page, "console-04-empty-reply")

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
    note = page.locator("#ticket-timeline .timeline-note")
    assert NOTE_2 in note.inner_text()
    assert note.locator(".internal-badge").count() == 1              # marked internal, not sent
    assert page.locator("#ticket-timeline .timeline-reply").count() == 0
    assert page.inner_text("#ticket-status").strip() == status_label("assigned")   # a note changes nothing

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
    shot(page, "console-05-ticket-merged")
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
    shot(page, "console-06-public-done")

    # …and the agent finds it in the team queue
    login(AGENT, PASSWORD)
    page.goto(f"{base}/console/?view=team")
    page.wait_for_load_state("networkidle")
    rows = page.locator("#queue-table .queue-row")
    row = rows.filter(has=page.locator(f"a:text-is('{public}')"))
    assert row.count() == 1
    assert PUBLIC_TEXT.splitlines()[0][:20] in row.inner_text()
    first_row = rows.filter(has=page.locator(f"a:text-is('{first}')"))
    assert first_row.count() == 1 and first_row.locator(".sla-paused").count() == 1
    assert rows.filter(has=page.locator(f"a:text-is('{second}')")).count() == 0   # merged: not open work
    assert page.locator("#queue-tabs a.active[href='?view=team']").count() == 1
    shot(page, "console-07-console-team")
    click_and_wait(page, row.locator("td").first)                     # a click on the row opens it
    assert re.fullmatch(rf"{re.escape(base)}/tickets/\d+/", page.url), page.url
    assert public in page.inner_text("h1")
    assert problems == [], "\n".join(problems)


def move_clocks(env: dict, *, warn: str, late: str) -> dict:
    """Ticket `warn` a few minutes before its due times (opened two hours ago), `late` past them;
    then the SLA sweep of tenant A, as the Celery task runs it."""
    out = in_tenant(env, f"""
import datetime as dt
from django.utils import timezone
from tickets.models import Ticket
from tickets.services.sla_sweep import sla_sweep
now = timezone.now()
hour = dt.timedelta(hours=1)
Ticket.objects.filter(number={warn!r}).update(
    created_at=now - 2 * hour, first_response_warn_at=now - hour, first_response_due=now + hour / 6,
    resolution_warn_at=now - hour, resolution_due=now + hour / 4)
Ticket.objects.filter(number={late!r}).update(
    created_at=now - 3 * hour, first_response_warn_at=now - 2 * hour, first_response_due=now - hour,
    resolution_warn_at=now - 2 * hour, resolution_due=now - hour / 6)
print("sweep", sla_sweep().as_dict())
""")
    match = re.search(r"sweep (\{.*\})", out)
    assert match, out
    return eval(match.group(1))  # noqa: S307 — our own dict printed by the line above


def test_sla_warning_breach_escalation_resolve_reopen_and_keyboard(login, page, served):
    base, env = served
    problems = watch(page)
    login(AGENT, PASSWORD)

    # the caller gives a waybill number: its sender appears with the waybill; a ticket about it
    card = look_up(page, base, WAYBILL)
    assert CUSTOMER[0] in card.inner_text() and WAYBILL in card.inner_text()
    open_ticket(page, card, "催派：快件两天没动", phone="", link="a.new-about-waybill")
    assert WAYBILL in page.inner_text("#ticket-waybill")
    warn_id, warn = ticket_id(page, base), ticket_number(page)
    card = look_up(page, base, WAYBILL, press_enter=True)
    open_ticket(page, card, "投诉：快递员未按约定时间派送", phone="")
    late_id, late = ticket_id(page, base), ticket_number(page)

    result = move_clocks(env, warn=warn, late=late)
    assert result["warned"] >= 1 and result["breached"] >= 1 and result["escalated"] >= 1, result

    # the queue: amber for the one about to be late, red for the late one, the late tab counts it
    page.goto(f"{base}/console/?view=team")
    page.wait_for_load_state("networkidle")
    rows = page.locator("#queue-table .queue-row")
    late_row = rows.filter(has=page.locator(f"a:text-is('{late}')"))
    warn_row = rows.filter(has=page.locator(f"a:text-is('{warn}')"))
    assert late_row.locator(".sla-breached").count() == 1
    assert warn_row.locator(".sla-warning").count() == 1
    assert int(page.inner_text("#queue-tabs [data-count=breached]")) >= 1
    shot(page, "console-10-console-sla")

    # keyboard: j/k move the selection, Enter opens the selected row
    page.keyboard.press("j")
    assert rows.nth(0).get_attribute("class").split().count("table-active") == 1
    page.keyboard.press("j")
    assert "table-active" in rows.nth(1).get_attribute("class")
    assert "table-active" not in rows.nth(0).get_attribute("class")
    page.keyboard.press("k")
    assert "table-active" in rows.nth(0).get_attribute("class")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.url == f"{base}/tickets/{late_id}/"
    page.wait_for_load_state("networkidle")

    # the late ticket: escalated, its timeline says what happened
    assert page.locator("#ticket-escalation").count() == 1
    assert page.locator("#ticket-sla .sla-breached").count() == 1
    timeline = page.locator("#ticket-timeline")
    assert timeline.locator(".timeline-sla_breached").count() >= 1
    assert timeline.locator(".timeline-escalated").count() == 1
    shot(page, "console-11-ticket-escalated")

    # resolved: a note is required (refused first), then it is; reopened within the window
    status = action_form(page, "status")
    status.locator("#id_status-status").select_option("resolved")
    click_and_wait(page, status.locator("button"))
    status = action_form(page, "status")
    assert status.locator(".invalid-feedback").count() == 1
    assert status.locator("#id_status-status").input_value() == "resolved"
    status.locator("#id_status-note").fill("已联系网点，今日派送并致歉")
    click_and_wait(page, status.locator("button"))
    assert page.inner_text("#ticket-status").strip() == status_label("resolved")
    assert page.locator("#reply-form").count() == 0
    status = action_form(page, "status")
    status.locator("#id_status-status").select_option("reopened")
    status.locator("#id_status-note").fill("客户来电：仍未收到")
    click_and_wait(page, status.locator("button"))
    assert page.inner_text("#ticket-status").strip() == status_label("reopened")
    assert page.locator("#reply-form").count() == 1

    # the ticket about to be late: amber on its page too, a warning in its timeline
    page.goto(f"{base}/tickets/{warn_id}/")
    page.wait_for_load_state("networkidle")
    assert page.locator("#ticket-sla .sla-warning").count() == 1
    assert page.locator("#ticket-timeline .timeline-sla_warning").count() >= 1
    assert page.locator("#ticket-escalation").count() == 0

    # keyboard: number keys switch the tabs, c takes a call, / goes to the lookup box
    page.goto(f"{base}/console/")
    page.wait_for_load_state("networkidle")
    with page.expect_navigation():
        page.keyboard.press("4")
    assert page.url.endswith("/console/?view=breached")
    page.wait_for_load_state("networkidle")
    assert page.locator("#queue-tabs a.active[href='?view=breached']").count() == 1
    assert page.locator(f"#queue-table a:text-is('{late}')").count() == 1     # reopened, still past its due time
    with page.expect_navigation():
        page.keyboard.press("2")
    assert page.url.endswith("/console/?view=team")
    page.wait_for_load_state("networkidle")
    with page.expect_navigation():
        page.keyboard.press("c")
    assert page.url == f"{base}/console/call/"
    page.wait_for_load_state("networkidle")
    page.locator("h1").click()
    page.keyboard.press("/")
    assert page.evaluate("document.activeElement.id") == "id_q"
    assert problems == [], "\n".join(problems)


def test_unknown_caller_and_forms_that_keep_what_was_typed(login, page, chromium, e2e_server):
    base = e2e_server
    problems = watch(page)
    login(AGENT, PASSWORD)

    # a number nobody has: no customer, a ticket for the unknown caller with that number
    page.goto(f"{base}/console/call/")
    page.wait_for_load_state("networkidle")
    page.locator("#id_q").press_sequentially("13700009999", delay=20)
    page.locator("#unknown-caller").wait_for()
    page.wait_for_load_state("networkidle")
    assert page.locator("#lookup-results .caller-card").count() == 0
    assert page.locator("#lookup-results .no-match").count() == 1
    click_and_wait(page, page.locator("#unknown-caller"))
    assert page.input_value("#id_caller_phone") == "+8613700009999"
    assert page.input_value("#id_customer_id") == ""
    page.select_option("#id_category", "tracking_inquiry")
    page.fill("#id_caller_name", "赵先生")
    page.fill("#id_description", "问快件到哪了")
    click_and_wait(page, page.locator("form:has(#id_subject) button"))
    # refused without a subject: what was typed stays
    assert page.locator("form:has(#id_subject) .invalid-feedback").count() >= 1
    assert page.input_value("#id_caller_name") == "赵先生"
    assert page.input_value("#id_category") == "tracking_inquiry"
    assert page.input_value("#id_caller_phone") == "+8613700009999"
    shot(page, "console-20-new-ticket-error")
    page.fill("#id_subject", "查件：不知道单号")
    click_and_wait(page, page.locator("form:has(#id_subject) button"))
    assert re.fullmatch(rf"{re.escape(base)}/tickets/\d+/", page.url), page.url
    assert page.locator("#ticket-customer .unknown-caller").count() == 1
    shot(page, "console-21-ticket-unknown-caller")
    assert problems == [], "\n".join(problems)

    # the public form on a phone: refused without consent, nothing typed is lost
    phone = chromium.new_context(viewport={"width": 390, "height": 844}, locale="zh-CN", is_mobile=True,
                                 has_touch=True, device_scale_factor=2)
    try:
        mobile = phone.new_page()
        problems = watch(mobile)
        mobile.goto(f"{base}/p/{TENANT}/support/")
        mobile.wait_for_load_state("networkidle")
        assert mobile.evaluate("document.documentElement.scrollWidth") <= 390   # nothing sticks out sideways
        mobile.fill("#id_name", "钱女士")
        mobile.fill("#id_phone", "13900008888")
        mobile.fill("#id_waybill_number", WAYBILL)
        mobile.select_option("#id_category", "delivery_urge")
        mobile.fill("#id_description", "今天能送到吗？")
        shot(mobile, "console-30-public-form-phone")
        click_and_wait(mobile, mobile.locator("form:has(#id_consent) button"))
        assert mobile.locator("#public-ticket-done").count() == 0
        assert mobile.locator("#id_consent ~ .invalid-feedback, .form-check .invalid-feedback").count() == 1
        assert mobile.input_value("#id_name") == "钱女士"
        assert mobile.input_value("#id_phone") == "13900008888"
        assert mobile.input_value("#id_waybill_number") == WAYBILL
        assert mobile.input_value("#id_category") == "delivery_urge"
        assert mobile.input_value("#id_description") == "今天能送到吗？"
        shot(mobile, "console-31-public-form-error")
        mobile.check("#id_consent")
        click_and_wait(mobile, mobile.locator("form:has(#id_consent) button"))
        assert mobile.locator("#public-ticket-done strong").inner_text().strip()
        shot(mobile, "console-32-public-form-done")
        assert problems == [], "\n".join(problems)
    finally:
        phone.close()


def test_tenant_admin_sets_up_a_team_a_rule_a_policy_and_a_holiday(login, page, e2e_server):
    base = e2e_server
    problems = watch(page)
    login(ADMIN, PASSWORD)
    page.goto(f"{base}/desk/")
    page.wait_for_load_state("networkidle")
    assert page.locator("#teams").count() == 1
    shot(page, "console-40-desk-home")

    # a team: refused without a name (the members ticked stay ticked), then saved
    click_and_wait(page, page.locator("a[href='/desk/teams/new/']"))
    page.fill("#id_code", "delays")
    page.select_option("#id_assign_mode", index=1)
    agent = page.locator("input[name=member_ids]").first
    agent.check()
    click_and_wait(page, page.locator("form[novalidate] button.btn-primary"))
    assert page.locator(".invalid-feedback").count() >= 1
    assert page.locator("input[name=member_ids]").first.is_checked()
    assert page.input_value("#id_code") == "delays"
    page.fill("#id_name", "延误组")
    click_and_wait(page, page.locator("form[novalidate] button.btn-primary"))
    assert page.url == f"{base}/desk/"
    assert "延误组" in page.inner_text("#teams")

    # a routing rule: delays go to the new team
    click_and_wait(page, page.locator("a[href='/desk/rules/new/']"))
    page.fill("#id_name", "延误件")
    page.select_option("#id_category", "delay")
    page.select_option("#id_team_id", label="延误组")
    click_and_wait(page, page.locator("form[novalidate] button.btn-primary"))
    assert page.url == f"{base}/desk/"
    rule = page.locator("#routing-rules tr", has_text="延误件")
    assert rule.count() == 1 and "延误组" in rule.inner_text()

    # an SLA policy for delays
    click_and_wait(page, page.locator("#desk-sla-policies"))
    assert page.locator("#sla-policies").count() == 1
    shot(page, "console-41-sla-policies")
    click_and_wait(page, page.locator("a[href='/desk/sla/new/']"))
    page.fill("#id_name", "延误件时限")
    page.select_option("#id_category", "delay")
    page.fill("#id_first_response_minutes", "60")
    page.fill("#id_resolution_minutes", "2880")
    click_and_wait(page, page.locator("form[novalidate] button.btn-primary"))
    assert page.url == f"{base}/desk/sla/"
    policy = page.locator("#sla-policies tr", has_text="延误件时限")
    assert policy.count() == 1

    # a company holiday in the default calendar
    click_and_wait(page, page.locator("a[href='/desk/calendars/']").first)
    click_and_wait(page, page.locator("#calendars a[href^='/desk/calendars/']").first)
    year = dt.date.today().year
    page.fill("#id_date", f"{year}-12-31")
    page.select_option("#id_is_working", "0")
    page.fill("#id_name", "公司年会")
    click_and_wait(page, page.locator("form:has(#id_date) button"))
    day = page.locator("#calendar-days tr", has_text="公司年会")
    assert day.count() == 1 and f"{year}-12-31" in day.inner_text()
    shot(page, "console-42-calendar")
    assert problems == [], "\n".join(problems)
