"""Fines as their people work them in Chromium (DOMAIN.md §5), on the demo company 顺达快递.

- Four-eyes: the branch manager proposes a fine for the agent through the form (refused first for
  an amount with three decimals, what was typed kept), lands on the case page with the four-eyes
  notice and no confirm button; the executive confirms it; the auditor finds its entry in the ledger.
- The auditor's path: the fine ledger from the menu, filtered by tier with its totals, "verify
  now" (no Celery worker serves these tests: the badge shows the run as queued), the signed
  checkpoints downloaded as JSON (a signature checked against the file's own public key) and the
  ledger downloaded as CSV.
- The agent sees only their own fines (one tab, every row theirs) and appeals a confirmed fine
  (refused first for an amount with three decimals, the grounds kept).

The module serves its own copy of the demo database, with one more confirmed fine against the
agent (so the agent's appeal does not depend on the four-eyes test having run first)."""
import base64
import csv
import datetime as dt
import io
import json
import re
from decimal import Decimal
from pathlib import Path

import pytest

from ..served import MANAGE, free_port, manage_output, served_database, serving
from .conftest import DEMO_PASSWORD
from .helpers import shot, watch

pytestmark = pytest.mark.browser

FALSE_ADDRESS = "录入收件地址为旧地址，导致快件退回。（E2E 四眼测试）"
APPEAL_GROUNDS = "当天系统切换，扫描记录为自动补传，并非本人操作。（E2E 申诉）"

# Run in the served database before the server starts: one more fine against the agent, proposed
# by the branch manager and confirmed by the executive, and what the tests need to know.
SETUP = """
import datetime as dt, json
from decimal import Decimal
from django.db.models import Sum
from django.utils import timezone
from penalties import services
from penalties.models import LedgerEntry, ViolationCase, ViolationType
from tenancy.models import Membership, Tenant, User
from tenancy.scoping import tenant_scope

tenant = Tenant.objects.get(code="shunda")
people = {u.username: u for u in User.objects.filter(username__in=["shunda_branch", "shunda_exec", "shunda_agent"])}
with tenant_scope(tenant, user=people["shunda_branch"]):
    agent = Membership.objects.get(user=people["shunda_agent"])
    case = services.case_propose(
        actor=people["shunda_branch"], violation_type=ViolationType.objects.get(code="FAKE_SIGNATURE"),
        subject_kind="employee", subject_membership=agent, amount="1500.00",
        description="客户投诉快递员代签收（E2E 预置）", occurred_on=timezone.localdate() - dt.timedelta(days=1))
with tenant_scope(tenant, user=people["shunda_exec"]):
    case = services.case_confirm(actor=people["shunda_exec"], case=case)
with tenant_scope(tenant):
    serious = LedgerEntry.objects.filter(tier="serious").aggregate(total=Sum("amount"), n=Sum(1))
    print(json.dumps({
        "appealable": {"pk": case.pk, "number": case.number},
        "agent_membership": agent.pk,
        "types": dict(ViolationType.objects.values_list("code", "pk")),
        "agent_cases": sorted(ViolationCase.objects.filter(subject_membership=agent).values_list("pk", flat=True)),
        "other_cases": sorted(ViolationCase.objects.exclude(subject_membership=agent).values_list("pk", flat=True)),
        "serious_total": str(serious["total"] or Decimal("0.00")),
        "serious_entries": LedgerEntry.objects.filter(tier="serious").count(),
    }))
"""


@pytest.fixture(scope="module")
def served():
    with served_database("e2e_fines") as env:
        known = json.loads(manage_output(env, "shell", "-c", SETUP).splitlines()[-1])
        port = free_port()
        with serving([*MANAGE, "runserver", f"127.0.0.1:{port}", "--noreload"], dict(env, DJANGO_DEBUG="1"),
                     port) as url:
            yield url, known


@pytest.fixture(scope="module")
def e2e_server(served):
    return served[0]


@pytest.fixture(scope="module")
def known(served):
    return served[1]


# --- helpers -------------------------------------------------------------------------------------

def click_and_wait(page, locator) -> None:
    with page.expect_navigation():
        locator.click()
    page.wait_for_load_state("load")


def open_page(page, url: str) -> None:
    page.goto(url)
    page.wait_for_load_state("load")


def person(chromium, base: str, username: str):
    """A second person at their own browser (a context of their own), logged in."""
    context = chromium.new_context(viewport={"width": 1366, "height": 900}, locale="zh-CN")
    page = context.new_page()
    page.set_default_timeout(15000)
    page.goto(f"{base}/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", DEMO_PASSWORD)
    click_and_wait(page, page.locator("button[type=submit]"))
    assert "/login/" not in page.url, page.url
    return page


def label(enum, value: str) -> str:
    """A choice's label as the zh-hans page shows it."""
    from django.utils import translation

    with translation.override("zh-hans"):
        return str(enum(value).label)


def case_status(value: str) -> str:
    from penalties.models import CaseStatus

    return label(CaseStatus, value)


def case_id(page, base: str) -> int:
    match = re.fullmatch(rf"{re.escape(base)}/fines/(\d+)/", page.url)
    assert match, page.url
    return int(match.group(1))


def shown_cases(page) -> set[int]:
    return {int(pk) for pk in page.locator("#fines-table tbody tr[data-case]").evaluate_all(
        "rows => rows.map(r => r.dataset.case)")}


def ledger_row(page, number: str):
    return page.locator("#ledger-table tbody tr", has=page.locator(f"a:text-is('{number}')"))


def stat(page, element_id: str) -> Decimal:
    return Decimal(page.inner_text(f"#{element_id}").strip().replace(",", ""))


def choose(form, name: str, value: str) -> None:
    """Pick a choice whether the form shows it as a drop-down or as radio buttons."""
    select = form.locator(f"select[name={name}]")
    if select.count():
        select.select_option(value)
    else:
        form.locator(f"input[name={name}][value={value}]").check()


def download(page, locator) -> bytes:
    with page.expect_download() as info:
        locator.click()
    return Path(info.value.path()).read_bytes()


# --- the tests -----------------------------------------------------------------------------------

def test_four_eyes_propose_confirm_and_the_ledger_entry(login, page, chromium, e2e_server, known):
    base = e2e_server
    problems = watch(page)

    # the branch manager proposes a fine for the agent
    login("shunda_branch")
    open_page(page, f"{base}/fines/")
    click_and_wait(page, page.locator("#fine-propose"))
    assert page.url == f"{base}/fines/new/"
    form = page.locator("#propose-form")
    form.locator("select[name=violation_type]").select_option(str(known["types"]["FALSE_ADDRESS"]))
    choose(form, "subject_kind", "employee")
    form.locator("select[name=subject_membership]").select_option(str(known["agent_membership"]))
    form.locator("input[name=amount]").fill("12.345")
    form.locator("input[name=occurred_on]").fill((dt.date.today() - dt.timedelta(days=1)).isoformat())
    form.locator("textarea[name=description]").fill(FALSE_ADDRESS)
    click_and_wait(page, page.locator("#propose-submit"))
    # refused in place: the field says why, what was typed is kept
    assert page.url == f"{base}/fines/new/"
    amount = page.locator("#propose-form input[name=amount]")
    assert amount.input_value() == "12.345"
    assert page.locator("#propose-form .invalid-feedback").count() >= 1
    assert page.locator("#propose-form textarea[name=description]").input_value() == FALSE_ADDRESS
    shot(page, "fines-01-propose-refused")
    amount.fill("800.00")
    click_and_wait(page, page.locator("#propose-submit"))
    case = case_id(page, base)
    number = page.inner_text("h1").split("·")[0].strip()
    assert re.fullmatch(r"V\d{4}-\d{6}", number), number
    assert page.inner_text("#case-status").strip() == case_status("proposed")
    assert page.locator("#case-four-eyes").is_visible()
    assert page.locator("#case-confirm-button").count() == 0
    assert page.inner_text("#case-amount").strip() == "800.00"
    shot(page, "fines-02-proposed-four-eyes")

    # the executive confirms it
    boss = person(chromium, base, "shunda_exec")
    problems += watch(boss)
    open_page(boss, f"{base}/fines/?tab=proposed")
    assert case in shown_cases(boss)
    click_and_wait(boss, boss.locator(f"#fines-table tr[data-case='{case}'] a"))
    assert boss.locator("#case-four-eyes").count() == 0
    boss.fill("textarea[name=confirm-note]", "面单与系统记录已核对。")
    click_and_wait(boss, boss.locator("#case-confirm-button"))
    assert boss.inner_text("#case-status").strip() == case_status("confirmed")
    assert boss.locator("#case-confirmed").is_visible()
    assert boss.locator("#case-entries tbody tr[data-entry]").count() == 1
    shot(boss, "fines-03-confirmed")
    boss.context.close()

    # the auditor finds the entry in the ledger
    auditor = person(chromium, base, "shunda_auditor")
    problems += watch(auditor)
    open_page(auditor, f"{base}/fines/ledger/")
    row = ledger_row(auditor, number)
    assert row.count() == 1
    assert "800.00" in row.inner_text()
    shot(auditor, "fines-04-ledger-new-entry")
    auditor.context.close()
    assert problems == []


def test_auditor_filters_verifies_and_downloads(login, page, e2e_server, known):
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    from penalties import signing

    base = e2e_server
    problems = watch(page)
    login("shunda_auditor")
    click_and_wait(page, page.locator("nav a.nav-link[href='/fines/ledger/']"))
    assert page.url == f"{base}/fines/ledger/"
    assert page.locator("#chain-state").get_attribute("data-state") == "intact"   # the demo verified it
    assert page.locator("#propose-form, #fine-propose").count() == 0
    shot(page, "fines-05-ledger")

    # filter by tier: the totals are those of the serious entries
    page.select_option("#ledger-filters select[name=tier]", "serious")
    click_and_wait(page, page.locator("#ledger-filters button.btn-primary"))
    assert "tier=serious" in page.url
    assert stat(page, "total-issued") == Decimal(known["serious_total"])
    assert stat(page, "total-balance") == Decimal(known["serious_total"])
    assert page.locator("#ledger-table tbody tr[data-entry]").count() == known["serious_entries"]
    assert page.locator("#totals-tier tbody tr").count() == 1
    shot(page, "fines-06-ledger-serious")

    # verify now: queued for a worker (none runs here), the badge says so
    click_and_wait(page, page.locator("#chain-verify"))
    assert page.url.startswith(f"{base}/fines/ledger/")
    assert page.locator("#chain-pending").is_visible()
    assert page.locator("#chain-verify").count() == 0
    assert page.locator("#chain-badge").get_attribute("hx-get") == "/fines/ledger/badge/"
    shot(page, "fines-07-verify-queued")

    # the signed checkpoints, downloaded and checked against the file's own public key
    click_and_wait(page, page.locator("a[href='/fines/ledger/checkpoints/']").first)
    assert page.locator("#checkpoints-table tbody tr").count() >= 1
    key_id = page.inner_text("#signing-key-id").strip()
    shot(page, "fines-08-checkpoints")
    document = json.loads(download(page, page.locator("#checkpoints-download")))
    assert list(document["public_keys"]) == [key_id] and document["checkpoints"]
    item = document["checkpoints"][-1]
    assert re.fullmatch(r"[0-9a-f]{128}", item["signature"]) and item["key_id"] == key_id
    public = Ed25519PublicKey.from_public_bytes(base64.b64decode(document["public_keys"][key_id]))
    public.verify(bytes.fromhex(item["signature"]), signing.checkpoint_message(
        tenant_id=document["tenant_id"], sequence=item["sequence"], head_hash=bytes.fromhex(item["head_hash"]),
        signed_at=dt.datetime.fromisoformat(item["signed_at"])))
    pem = download(page, page.locator("#public-key-download")).decode()
    assert pem.startswith("-----BEGIN PUBLIC KEY-----")

    # the whole ledger as CSV: one row per entry, with the hashes
    open_page(page, f"{base}/fines/ledger/")
    entries = page.locator("#ledger-table tbody tr[data-entry]").count()
    rows = list(csv.reader(io.StringIO(download(page, page.locator("#export-csv")).decode("utf-8-sig"))))
    assert len(rows) == entries + 1 and "entry_hash" in rows[0]
    hashes = [row[rows[0].index("entry_hash")] for row in rows[1:]]
    assert all(re.fullmatch(r"[0-9a-f]{64}", h) for h in hashes)
    shown = page.locator("#ledger-table tbody tr[data-entry] code").first.get_attribute("title")
    assert shown in hashes
    assert problems == []


def test_agent_sees_only_their_fines_and_appeals(login, page, e2e_server, known):
    base = e2e_server
    problems = watch(page)
    login("shunda_agent")
    click_and_wait(page, page.locator("nav a.nav-link[href='/fines/']"))
    # one tab (my fines), no proposing, and only the agent's own fines
    assert page.locator("a.nav-link[data-tab]").count() == 1
    assert page.locator("a.nav-link.active[data-tab=mine]").count() == 1
    assert page.locator("#fine-propose").count() == 0
    shown = shown_cases(page)
    assert set(known["agent_cases"]) <= shown and not shown & set(known["other_cases"])
    fined = page.locator("#fines-table tbody tr[data-case] td:nth-child(3)").all_inner_texts()
    assert fined and len(set(fined)) == 1, fined
    shot(page, "fines-09-agent-list")
    for pk in known["other_cases"]:                              # another person's fine: not found
        assert page.request.get(f"{base}/fines/{pk}/").status == 404

    # the appeal of a confirmed fine: refused first (three decimals), the grounds kept
    appealable = known["appealable"]
    open_page(page, f"{base}/fines/")
    click_and_wait(page, page.locator(f"#fines-table tr[data-case='{appealable['pk']}'] a"))
    assert page.inner_text("#case-status").strip() == case_status("confirmed")
    assert page.locator("#pay-button, #void-button, #case-confirm-button").count() == 0
    page.fill("textarea[name=appeal-grounds]", APPEAL_GROUNDS)
    page.fill("input[name=appeal-requested_amount]", "12.345")
    click_and_wait(page, page.locator("#appeal-button"))
    assert page.locator("textarea[name=appeal-grounds]").input_value() == APPEAL_GROUNDS
    assert page.locator("input[name=appeal-requested_amount]").input_value() == "12.345"
    assert page.inner_text("#case-status").strip() == case_status("confirmed")
    shot(page, "fines-10-appeal-refused")
    page.fill("input[name=appeal-requested_amount]", "500")
    click_and_wait(page, page.locator("#appeal-button"))
    assert page.inner_text("#case-status").strip() == case_status("appealed")
    assert APPEAL_GROUNDS in page.inner_text("#case-appeal")
    assert page.locator("#appeal-button").count() == 0
    shot(page, "fines-11-appealed")
    assert problems == []
