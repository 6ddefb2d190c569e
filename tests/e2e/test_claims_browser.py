"""Claims as their people work them in Chromium (DOMAIN.md §4, issue 7).

- An agent finds a damaged parcel's exception ticket through its waybill, files a damage claim
  (refused first for an amount with three decimals, what was typed kept), is stopped submitting it
  without the evidence, uploads the four files the checklist asks for (two photos that show in the
  gallery, two PDFs) and submits it; the branch manager assesses it and sees the rules' amount with
  the rule and its version; the agent, who filed it, is offered no decision (four-eyes); the
  executive approves it from the claims queue and records the payout (refused first for more than
  was approved, what was typed kept): the claim is paid, the payee's account shows masked only, the
  ticket is resolved and tells the customer.
- The demo's submitted loss claim is taken into review by an agent and rejected by the executive:
  refused without a reason, then rejected with one, which the ticket's timeline carries.
- The claims queue's tabs, filters and clocks, the branch manager's reach, and the claims report.
- The auditor reads the queue and a claim but is offered no action.

The damaged parcel comes the way production gets it: tracking events loaded into this module's
served company database by `manage.py ingest_tracking_events` (the damage scan opens the ticket),
as the exception-queue test loads its own."""
import datetime as dt
import json
import re
import tempfile

import pytest

from ..served import MANAGE, free_port, manage_output, served_database, serving
from .conftest import DEMO_PASSWORD
from .helpers import shot, watch

pytestmark = pytest.mark.browser

SITE = "SD-SH-PD"                  # 上海浦东网点: shunda_branch manages it, shunda_agent works there
WAYBILL = "E2ECL0000001"           # insured for 500 CNY, declared 400, service fee 12
DESCRIPTION = "收件人反映外箱被压扁，内装的陶瓷花瓶碎成两半。\n要求按实际损失赔偿。"
PAYEE_ACCOUNT = "6222021234567890123"
REFERENCE = "ICBC-E2E-20260001"
REJECT_REASON = "监控显示快件已按地址签收，寄件人无法提供丢失证明。"


def tracking_events() -> list[dict]:
    """created → picked up → arrived → damaged (which opens a damage exception ticket)."""
    start = (dt.datetime.now(dt.UTC) - dt.timedelta(days=2)).replace(microsecond=0)
    steps = [("created", {}), ("picked_up", {}), ("arrived_at_site", {}), ("damaged", {"reason": "外包装压扁"})]
    events = []
    for n, (kind, attributes) in enumerate(steps):
        event = {"event_id": f"{WAYBILL}-{n}", "waybill_number": WAYBILL, "event_type": kind,
                 "event_time": (start + dt.timedelta(hours=n)).isoformat(), "site": SITE,
                 "operator": "" if kind == "created" else "快递员 张师傅", "attributes": attributes}
        if kind == "created":
            event["waybill"] = {"sender_customer": "B00000001", "receiver_name": "李小红",
                                "receiver_phone": "13900005678", "receiver_address": "上海市浦东新区世纪大道100号",
                                "origin": SITE, "destination": SITE, "product": "standard", "weight_kg": "2.5",
                                "declared_value": "400", "insured_amount": "500", "service_fee": "12"}
        events.append(event)
    return events


@pytest.fixture(scope="module")
def e2e_server():
    """This module's own served company database (the demo data, its claims, and the parcel above)."""
    with served_database("e2e_claims") as env:
        with tempfile.NamedTemporaryFile("w", suffix=".jsonl", encoding="utf-8") as handle:
            handle.write("\n".join(json.dumps(e, ensure_ascii=False) for e in tracking_events()))
            handle.flush()
            summary = manage_output(env, "ingest_tracking_events", "--tenant", "shunda", handle.name)
        assert "tickets_opened 1" in summary, summary
        port = free_port()
        with serving([*MANAGE, "runserver", f"127.0.0.1:{port}", "--noreload"], dict(env, DJANGO_DEBUG="1"),
                     port) as url:
            yield url


# --- helpers -------------------------------------------------------------------------------------

def click_and_wait(page, locator, *, idle: bool = False) -> None:
    """Click and wait for the next page. The claims pages are rendered whole by the server: their
    load is enough (waiting for the network to stay idle half a second after every navigation
    added some twenty seconds to this module); pages that fetch fragments after loading (the
    ticket page's knowledge-base suggestions) are waited for until the network is idle."""
    with page.expect_navigation():
        locator.click()
    page.wait_for_load_state("networkidle" if idle else "load")


def open_page(page, url: str) -> None:
    page.goto(url)
    page.wait_for_load_state("networkidle")


def person(chromium, base: str, username: str):
    """A second person at their own browser (a context of their own), logged in."""
    context = chromium.new_context(viewport={"width": 1366, "height": 900}, locale="zh-CN")
    page = context.new_page()
    page.set_default_timeout(15000)
    page.goto(f"{base}/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", DEMO_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state("networkidle")
    assert "/login/" not in page.url, page.url
    return page


def label(enum, value: str) -> str:
    """A choice's label as the zh-hans page shows it."""
    from django.utils import translation

    with translation.override("zh-hans"):
        return str(enum(value).label)


def zh(text: str) -> str:
    """A message as the zh-hans page shows it."""
    from django.utils import translation

    with translation.override("zh-hans"):
        return translation.gettext(text)


def claim_status(value: str) -> str:
    from tickets.models import ClaimStatus

    return label(ClaimStatus, value)


def ticket_status(value: str) -> str:
    from tickets.models import TicketStatus

    return label(TicketStatus, value)


def claim_id(page, base: str) -> int:
    match = re.fullmatch(rf"{re.escape(base)}/claims/(\d+)/", page.url)
    assert match, page.url
    return int(match.group(1))


def action_form(page, action: str):
    """One of the claim page's forms, by its hidden `action` value."""
    return page.locator(f"form:has(input[name=action][value={action}])")


def status_of(page) -> str:
    return page.inner_text("#claim-status").strip()


def claim_row(page, number: str):
    return page.locator("#claims-table tbody tr", has=page.locator(f"a:text-is('{number}')"))


def queue_tab(page, tab: str) -> None:
    click_and_wait(page, page.locator(f"a.nav-link[data-tab={tab}]"))
    assert page.locator(f"a.nav-link.active[data-tab={tab}]").count() == 1


def photos_shown(page) -> None:
    """Every photo of the evidence gallery loaded (they load lazily) and decoded as a picture."""
    photos = page.locator(".evidence-gallery img")
    if photos.count():
        photos.last.scroll_into_view_if_needed()
        page.wait_for_function("() => [...document.querySelectorAll('.evidence-gallery img')]"
                               ".every(i => i.complete && i.naturalWidth > 0)")


def evidence_files() -> list[tuple[str, dict]]:
    """What the customer sent: two photos (real PNGs) and two PDFs, by the checklist's kinds."""
    from tickets.claims_demo import demo_png

    pdf = b"%PDF-1.4\n% e2e\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
    return [
        ("photo", {"name": "花瓶破损.png", "mimeType": "image/png", "buffer": demo_png((200, 60, 60))}),
        ("packaging_photo", {"name": "外箱压扁.png", "mimeType": "image/png", "buffer": demo_png((150, 120, 90))}),
        ("proof_of_value", {"name": "购物发票.pdf", "mimeType": "application/pdf", "buffer": pdf}),
        ("damage_report", {"name": "破损签收证明.pdf", "mimeType": "application/pdf", "buffer": pdf}),
    ]


# --- the tests -----------------------------------------------------------------------------------

def test_damage_claim_filed_documented_assessed_approved_and_paid(login, page, chromium, e2e_server):
    from tickets.models import ApprovalLevel, CompensationRule, EvidenceKind

    base = e2e_server
    problems = watch(page)

    # the agent finds the parcel by its number, and its damage ticket on the waybill's page
    login("shunda_agent")
    page.fill("#home-waybill-q", WAYBILL)
    click_and_wait(page, page.locator("form[role=search] button"))
    assert WAYBILL in page.inner_text("h1")
    assert page.locator("#waybill-claims .claims-table tbody tr td.text-muted").count() == 1   # no claims yet
    ticket_link = page.locator("table a[href^='/tickets/']").first
    click_and_wait(page, ticket_link, idle=True)
    ticket_url = page.url
    assert re.fullmatch(rf"{re.escape(base)}/tickets/\d+/", ticket_url), ticket_url
    claims_card = page.locator("#ticket-claims")
    assert claims_card.locator(".claims-table tbody tr td.text-muted").count() == 1
    shot(page, "claims-01-ticket-before")

    # filing: an amount with three decimals is refused in place, what was typed is kept
    click_and_wait(page, claims_card.locator("#file-claim"))
    assert page.url == f"{ticket_url}claim/"
    assert page.input_value("#id_claim_type") == "damage"             # from the ticket's category
    facts = page.inner_text("#claim-waybill-facts")
    assert "400.00" in facts and "500.00" in facts and "12.00" in facts
    page.check("input[name=claimant_role][value=receiver]")
    page.fill("#id_claimed_amount", "12.345")
    page.fill("#id_description", DESCRIPTION)
    with page.expect_response(lambda r: r.request.method == "POST") as sent:
        click_and_wait(page, page.locator("#claim-file-form button"))
    assert sent.value.status == 400
    error = page.locator("#claim-file-form .invalid-feedback")
    assert error.count() == 1 and error.inner_text().strip()
    assert page.input_value("#id_claimed_amount") == "12.345"
    assert page.input_value("#id_description") == DESCRIPTION
    assert page.input_value("#id_claim_type") == "damage"
    assert page.is_checked("input[name=claimant_role][value=receiver]")
    shot(page, "claims-02-file-error")
    page.fill("#id_claimed_amount", "200")
    click_and_wait(page, page.locator("#claim-file-form button"))
    claim_id(page, base)
    claim_url = page.url
    number = page.inner_text("h1").split(" · ")[0].strip()
    assert re.fullmatch(r"C\d{4}-\d{6}", number), number
    assert page.locator(".alert-success").count() == 1 and number in page.inner_text(".alert-success")
    assert status_of(page) == claim_status("draft")
    assert "200.00" in page.inner_text("#claim-claimed")
    assert DESCRIPTION.splitlines()[0] in page.inner_text("#claim-facts")

    # submitting without the evidence is refused: the checklist says what is missing
    checklist = page.locator("#claim-checklist")
    assert checklist.locator(".text-bg-warning").count() == 4
    with page.expect_response(lambda r: r.request.method == "POST") as sent:
        click_and_wait(page, page.locator("#claim-submit"))
    assert sent.value.status == 400
    missing = page.inner_text("#claim-error")
    for kind, _ in evidence_files():
        assert label(EvidenceKind, kind) in missing, missing
    assert status_of(page) == claim_status("draft")
    shot(page, "claims-03-missing-evidence")

    # the four files, one by one: each ticks its item off the checklist
    for kind, payload in evidence_files():
        form = page.locator("#claim-evidence-form")
        form.locator("select[name=evidence-kind]").select_option(kind)
        form.locator("input[name=evidence-file]").set_input_files(payload)
        click_and_wait(page, form.locator("button"))
        assert page.locator("#claim-evidence-form .invalid-feedback, #claim-evidence-form .alert-danger").count() == 0
        assert "text-bg-success" in checklist.locator(f"[data-kind={kind}]").get_attribute("class"), kind
    assert checklist.locator(".text-bg-warning").count() == 0
    assert page.locator("#claim-next .text-success").count() == 1         # the checklist is complete
    gallery = page.locator(".evidence-gallery")
    assert gallery.locator("figure").count() == 4
    assert gallery.locator("img").count() == 2
    photos_shown(page)
    assert gallery.locator("a[href*='/evidence/?item=']:not(:has(img))").count() == 2   # the PDFs, to download
    shot(page, "claims-04-evidence-complete")
    click_and_wait(page, page.locator("#claim-submit"))
    assert status_of(page) == claim_status("submitted")
    assert page.locator("#claim-clock .claim-clock").count() == 1
    assert page.locator("#claim-decide").count() == 0                   # nothing to decide before the assessment
    assert page.locator("#claim-evidence-form").count() == 1            # more evidence until the decision

    # the branch manager assesses it: the rules' amount, the rule and its version
    branch = person(chromium, base, "shunda_branch")
    branch_problems = watch(branch)
    try:
        open_page(branch, f"{base}/claims/")
        row = claim_row(branch, number)
        assert row.count() == 1 and row.locator(".claim-clock").count() == 1
        click_and_wait(branch, row.locator(f"a:text-is('{number}')"))
        assert branch.url == claim_url
        assess = branch.locator("#claim-assess")
        assess.locator("#id_assess-assessed_value").fill("400")
        assess.locator("#id_assess-damage_percent").fill("50")
        assess.locator("#id_assess-cause").select_option("transport_damage")
        assess.locator("#id_assess-note").fill("照片与发票一致，花瓶碎成两半，按一半价值核定。")
        click_and_wait(branch, branch.locator("#claim-assess-save"))
        assert status_of(branch) == claim_status("under_review")
        computed = branch.locator("#claim-computed")
        assert computed.locator("h2").inner_text().strip() == zh("Payable by the rules")
        assert computed.locator("#claim-computed-amount").inner_text().strip() == "200.00"
        assert branch.inner_text("#claim-rule").strip() == label(CompensationRule, "insured")
        assert branch.inner_text("#claim-rule-version").strip() == zh("company default")
        assert branch.inner_text("#claim-required-level").strip() == label(ApprovalLevel, "team_lead")
        assert "500.00" in computed.inner_text()                        # the cap: the insured amount
        assert branch.locator("#claim-approve-form").count() == 1       # he may decide it: his branch's
        assert label(ApprovalLevel, "branch_manager") in branch.inner_text("#claim-decide")
        assert branch.locator("#claim-four-eyes").count() == 0
        shot(branch, "claims-05-assessed")
        assert branch_problems == [], "\n".join(branch_problems)
    finally:
        branch.context.close()

    # the agent filed it: the decision card says so and offers no decision (four-eyes; the
    # service's own refusal over HTTP is covered by tests/tickets/test_claims_views.py)
    open_page(page, claim_url)
    assert page.locator("#claim-decide #claim-four-eyes").count() == 1
    assert page.locator("#claim-approve-form").count() == 0
    assert page.locator("#claim-reject-form").count() == 0
    assert status_of(page) == claim_status("under_review")
    shot(page, "claims-06-four-eyes")
    assert problems == [], "\n".join(problems)

    # the executive: from the home card to the queue's "to decide" tab, approves and pays
    boss = person(chromium, base, "shunda_exec")
    problems = watch(boss)
    try:
        card = boss.locator(".claims-summary")
        assert int(card.locator(".stat").first.inner_text()) >= 3       # ours and the demo's waiting
        click_and_wait(boss, card.locator("a.btn"))
        assert boss.url == f"{base}/claims/"
        queue_tab(boss, "decide")
        click_and_wait(boss, claim_row(boss, number).locator(f"a:text-is('{number}')"))
        assert boss.url == claim_url
        assert boss.locator("#claim-assess").count() == 0               # an executive decides, does not assess
        assert boss.locator("#claim-four-eyes").count() == 0
        assert boss.input_value("#id_approve-amount") == "200.00"        # the rules' amount, offered
        click_and_wait(boss, boss.locator("#claim-approve-form button"))
        assert status_of(boss) == claim_status("approved")
        assert "200.00" in boss.inner_text("#claim-approved")
        assert label(ApprovalLevel, "headquarters") in boss.inner_text("#claim-decision")
        assert boss.locator("#claim-decide").count() == 0

        # the payout: more than approved is refused, what was typed stays
        pay = boss.locator("#claim-pay-form")
        pay.locator("#id_pay-amount").fill("250.00")
        pay.locator("#id_pay-method").select_option("bank_transfer")
        pay.locator("#id_pay-payee_name").fill("李小红")
        pay.locator("#id_pay-payee_account").fill(PAYEE_ACCOUNT)
        pay.locator("#id_pay-reference").fill(REFERENCE)
        with boss.expect_response(lambda r: r.request.method == "POST") as sent:
            click_and_wait(boss, pay.locator("button"))
        assert sent.value.status == 400
        pay = boss.locator("#claim-pay-form")
        error = pay.locator(".invalid-feedback")
        assert error.count() == 1 and "200.00" in error.inner_text()
        assert boss.input_value("#id_pay-amount") == "250.00"
        assert boss.input_value("#id_pay-method") == "bank_transfer"
        assert boss.input_value("#id_pay-payee_account") == PAYEE_ACCOUNT
        assert boss.input_value("#id_pay-reference") == REFERENCE
        assert status_of(boss) == claim_status("approved")
        shot(boss, "claims-07-payout-too-much")
        pay.locator("#id_pay-amount").fill("200.00")
        click_and_wait(boss, pay.locator("button"))
        assert status_of(boss) == claim_status("paid")
        payout = boss.locator("#claim-payout")
        assert "200.00" in boss.inner_text("#claim-paid-amount")
        assert REFERENCE in payout.inner_text()
        masked = payout.locator(".masked").inner_text().strip()
        assert masked and PAYEE_ACCOUNT[4:-4] not in masked, masked
        assert PAYEE_ACCOUNT not in boss.content()
        assert boss.locator("#claim-pay, form:has(input[name=action])").count() == 0
        assert boss.locator("#claim-timeline li[data-kind=status]").filter(has_text="200.00").count() >= 2
        photos_shown(boss)
        shot(boss, "claims-08-paid")
        open_page(boss, claim_url)                                    # as stored, not just as answered
        assert status_of(boss) == claim_status("paid")
        assert PAYEE_ACCOUNT not in boss.content()

        # the ticket: the claim shows as paid, the ticket resolved, the customer told
        click_and_wait(boss, boss.locator(f"a[href='{ticket_url[len(base):]}']").first, idle=True)
        assert boss.url == ticket_url
        assert boss.inner_text("#ticket-status").strip() == ticket_status("resolved")
        row = boss.locator("#ticket-claims .claims-table tbody tr", has=boss.locator(f"a:text-is('{number}')"))
        assert claim_status("paid") in row.inner_text() and "200.00" in row.inner_text()
        reply = boss.locator("#ticket-timeline .timeline-reply", has_text=number)
        assert reply.count() == 1 and "200.00" in reply.inner_text() and REFERENCE in reply.inner_text()
        assert boss.locator("#ticket-timeline .timeline-claim").count() >= 4   # filed, submitted, assessed, …
        assert PAYEE_ACCOUNT not in boss.content()
        shot(boss, "claims-09-ticket-resolved")
        # and the waybill's page lists it
        click_and_wait(boss, boss.locator("#ticket-waybill a"))
        assert claim_status("paid") in boss.inner_text("#waybill-claims")
        assert problems == [], "\n".join(problems)
    finally:
        boss.context.close()


def test_loss_claim_rejected_with_a_reason(login, page, chromium, e2e_server):
    base = e2e_server
    problems = watch(page)
    from tickets.models import ClaimType

    # the demo's submitted loss claim, found in the queue by its type; an agent takes it into review
    login("shunda_agent")
    open_page(page, f"{base}/claims/")
    page.select_option("#id_claim_type", "loss")
    click_and_wait(page, page.locator("form[role=search] button"))
    rows = page.locator("#claims-table tbody tr[data-claim]")
    assert rows.count() == 1 and label(ClaimType, "loss") in rows.inner_text()
    number = rows.locator("td a").first.inner_text().strip()
    click_and_wait(page, rows.locator("td a").first)
    claim_url = page.url
    assert status_of(page) == claim_status("submitted")
    click_and_wait(page, action_form(page, "review").locator("button"))
    assert status_of(page) == claim_status("under_review")
    assert page.locator("#claim-four-eyes").count() == 1                # the demo agent filed it too
    assert problems == [], "\n".join(problems)

    boss = person(chromium, base, "shunda_exec")
    problems = watch(boss)
    try:
        open_page(boss, f"{base}/claims/?search={number}&tab=all")
        click_and_wait(boss, claim_row(boss, number).locator(f"a:text-is('{number}')"))
        assert boss.url == claim_url
        assert boss.locator("#claim-approve-form").count() == 0          # not assessed: only a rejection
        reject = boss.locator("#claim-reject-form")
        with boss.expect_response(lambda r: r.request.method == "POST") as sent:
            click_and_wait(boss, reject.locator("button"))
        assert sent.value.status == 400
        error = boss.locator("#claim-reject-form .invalid-feedback")
        assert error.count() == 1 and error.inner_text().strip()
        assert status_of(boss) == claim_status("under_review")
        shot(boss, "claims-10-reject-needs-reason")
        boss.locator("#id_reject-reason").fill(REJECT_REASON)
        click_and_wait(boss, boss.locator("#claim-reject-form button"))
        assert status_of(boss) == claim_status("rejected")
        assert REJECT_REASON in boss.inner_text("#claim-facts")
        assert boss.locator("#claim-decide, form:has(input[name=action])").count() == 0
        shot(boss, "claims-11-rejected")

        # the ticket's timeline carries the reason, and the customer was told it
        click_and_wait(boss, boss.locator("h1 + div a[href^='/tickets/']"), idle=True)
        reply = boss.locator("#ticket-timeline .timeline-reply", has_text=number)
        assert reply.count() == 1 and REJECT_REASON in reply.inner_text()
        assert boss.locator("#ticket-timeline .timeline-claim", has_text=REJECT_REASON).count() == 1
        row = boss.locator("#ticket-claims .claims-table tbody tr", has=boss.locator(f"a:text-is('{number}')"))
        assert claim_status("rejected") in row.inner_text()
        shot(boss, "claims-12-ticket-rejected")
        assert problems == [], "\n".join(problems)
    finally:
        boss.context.close()


def test_claims_queue_tabs_filters_clocks_and_report(login, page, chromium, e2e_server):
    base = e2e_server
    problems = watch(page)
    from tickets.models import ClaimType

    login("shunda_exec")
    click_and_wait(page, page.locator(".claims-summary a.btn"))
    assert page.locator("a.nav-link.active[data-tab=open]").count() == 1       # waiting for a decision
    rows = page.locator("#claims-table tbody tr[data-claim]")
    assert rows.count() >= 1
    assert page.locator("#claims-table .claim-clock").count() == rows.count()  # every one on the clock
    dues = [b.get_attribute("title") for b in page.locator("#claims-table .claim-clock").all()]
    assert dues == sorted(dues), dues                                           # the first to run out on top
    shot(page, "claims-20-queue-open")

    queue_tab(page, "drafts")
    drafts = page.locator("#claims-table tbody tr[data-claim]")
    assert drafts.count() >= 1 and claim_status("draft") in drafts.first.inner_text()
    assert page.locator("#claims-table .claim-clock").count() == 0              # a draft's clock has not started
    queue_tab(page, "pay")
    for text in page.locator("#claims-table tbody tr[data-claim] .badge").all_inner_texts():
        assert text.strip() in (claim_status("approved"), claim_status("partially_approved")), text
    queue_tab(page, "all")
    everything = page.locator("#claims-table tbody tr[data-claim]").count()
    assert everything >= 4                                                       # the demo's four at least
    page.select_option("#id_claim_type", "damage")
    click_and_wait(page, page.locator("form[role=search] button"))
    assert page.locator("a.nav-link.active[data-tab=all]").count() == 1         # the filter keeps the tab
    damage = page.locator("#claims-table tbody tr[data-claim]")
    assert 2 <= damage.count() < everything
    for cells in damage.locator("td:nth-child(2)").all_inner_texts():
        assert cells.strip() == label(ClaimType, "damage"), cells
    assert page.input_value("#id_claim_type") == "damage"
    shot(page, "claims-21-queue-all-damage")
    # an amount typed into the address bar that the filter cannot take: said so, not ignored
    response = page.goto(f"{base}/claims/?tab=all&min_amount=-5")
    page.wait_for_load_state("networkidle")
    assert response.status == 400
    assert page.locator("form[role=search] .alert-danger").count() == 1

    # the report: totals of what was filed and what became of it
    click_and_wait(page, page.locator("a[href='/claims/report/']"))
    totals = page.locator("#claims-totals .stat")
    assert int(totals.nth(0).inner_text()) >= 3                                  # drafts not counted
    assert int(page.inner_text("#claims-paid")) >= 1
    float(page.inner_text("#claims-avg-days"))                                   # the demo's paid claim was decided
    by_type = page.locator(".card-body", has=page.locator(f"h2:text-is('{zh('By type')}')"))
    kinds = [cells.strip() for cells in by_type.locator("tbody td:first-child").all_inner_texts()]
    assert label(ClaimType, "damage") in kinds and label(ClaimType, "loss") in kinds, kinds
    shot(page, "claims-22-report")
    assert problems == [], "\n".join(problems)

    # the branch manager's queue holds his branch subtree's claims only
    branch = person(chromium, base, "shunda_branch")
    try:
        open_page(branch, f"{base}/claims/?tab=all&claim_type=loss")
        assert branch.locator("#claims-table tbody tr[data-claim]").count() == 0   # the loss claim is Guangzhou's
        open_page(branch, f"{base}/claims/?tab=all&claim_type=damage")
        assert branch.locator("#claims-table tbody tr[data-claim]").count() >= 2
    finally:
        branch.context.close()


def test_auditor_reads_claims_but_is_offered_no_action(login, page, e2e_server):
    base = e2e_server
    problems = watch(page)
    login("shunda_auditor")
    open_page(page, f"{base}/claims/?tab=all")
    rows = page.locator("#claims-table tbody tr[data-claim]")
    assert rows.count() >= 4
    # the demo's paid claim (the oldest paid one: the tab lists the newest first)
    paid = rows.filter(has=page.locator(f".badge:text-is('{claim_status('paid')}')")).last
    click_and_wait(page, paid.locator("td a").first)
    assert re.fullmatch(rf"{re.escape(base)}/claims/\d+/", page.url), page.url
    assert page.locator("#claim-payout").count() == 1
    assert "demo-receiver@alipay" not in page.content()                 # the demo payee's account, masked
    assert page.locator("form:has(input[name=action])").count() == 0
    for card in ("#claim-assess", "#claim-decide", "#claim-pay", "#claim-evidence-form", "#claim-note-form",
                 "#claim-withdraw", "#claim-edit", "#claim-submit"):
        assert page.locator(card).count() == 0, card
    assert page.locator(".evidence-gallery figure").count() == 4
    photos_shown(page)                                                  # the auditor may see the evidence
    shot(page, "claims-30-auditor-claim")
    click_and_wait(page, page.locator("h1 + div a[href^='/tickets/']"), idle=True)
    assert page.locator("#ticket-claims").count() == 1 and page.locator("#file-claim").count() == 0
    open_page(page, f"{base}/")
    assert page.locator(".claims-summary").count() == 0                  # neither decides nor pays
    assert problems == [], "\n".join(problems)
