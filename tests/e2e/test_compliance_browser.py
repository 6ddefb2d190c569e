"""Data-subject requests and the compliance overview in Chromium, on the demo company 顺达快递.

- The handler's deletion path: the agent registers a deletion request a caller makes (refused
  first without any way to find the person, what was typed kept), then the tenant admin verifies
  the identity, sees the preview of the records reached, confirms by typing the request number
  (refused first for a wrong number) and completes the request.
- An access request: the export is built by "the worker" (the test runs the job, as a Celery worker
  would — none serves these tests) while the page's progress panel polls; the file is downloaded
  once, after which the button is gone and the page says who downloaded it when.
- The auditor's path: the overview, the request queue, a request page without action forms, and
  the download's row in the access log.

Personal values appear masked only. Screenshots go to /tmp/shots (see helpers.py)."""
from __future__ import annotations

import json
import re
import time
from pathlib import Path

import pytest

from ..served import MANAGE, free_port, manage_output, served_database, serving
from .conftest import DEMO_PASSWORD, totp_now
from .helpers import shot, watch

pytestmark = pytest.mark.browser

PHONE = "13900007777"
PHONE_E164 = "+8613900007777"
PHONE_MASKED = "139****7777"
NAME = "端木晓雯"

SETUP = f"""
import json
from customers import services
from customers.models import CustomerKind
from tenancy.models import Tenant, User
from tenancy.scoping import tenant_scope

tenant = Tenant.objects.get(code="shunda")
admin = User.objects.get(username="shunda_admin")
with tenant_scope(tenant, user=admin):
    person = services.customer_create(actor=admin, kind=CustomerKind.PERSON, name="{NAME}", phones=["{PHONE}"],
                                      province="上海", city="浦东新区")
    print(json.dumps({{"customer": person.pk, "number": person.number}}))
"""

# What a Celery worker does with the queued exports of the company.
WORKER = """
from compliance.models import DsrExport
from compliance.services.requests import dsr_export_build
from tenancy.models import Tenant
from tenancy.scoping import tenant_scope

with tenant_scope(Tenant.objects.get(code="shunda")):
    for export in DsrExport.objects.filter(status__in=["queued", "running"]):
        print(dsr_export_build(export=export).status)
"""


@pytest.fixture(scope="module")
def served():
    with served_database("e2e_compliance") as env:
        known = json.loads(manage_output(env, "shell", "-c", SETUP).splitlines()[-1])
        port = free_port()
        with serving([*MANAGE, "runserver", f"127.0.0.1:{port}", "--noreload"], dict(env, DJANGO_DEBUG="1"),
                     port) as url:
            yield url, known, env


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


def person_page(chromium, base: str, username: str, totp_secrets: dict, totp_steps: dict):
    """A person at their own browser, logged in (with the authenticator step for tenant admins)."""
    context = chromium.new_context(viewport={"width": 1366, "height": 900}, locale="zh-CN")
    page = context.new_page()
    page.set_default_timeout(15000)
    page.goto(f"{base}/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", DEMO_PASSWORD)
    click_and_wait(page, page.locator("button[type=submit]"))

    def type_code():
        code, step = totp_now(totp_secrets[username])
        totp_steps[username] = step
        page.fill("input[name=token]", code)
        click_and_wait(page, page.locator("button[type=submit]"))

    if "/two-factor/setup/" in page.url:
        totp_secrets[username] = page.inner_text("#totp-secret")
        type_code()
    elif "/two-factor/verify/" in page.url:
        if time.time() // 30 <= totp_steps.get(username, -1):
            time.sleep(30 - time.time() % 30 + 0.5)
        type_code()
    assert "/login/" not in page.url and "/two-factor/" not in page.url, page.url
    return page


def request_id(page, base: str) -> int:
    match = re.fullmatch(rf"{re.escape(base)}/compliance/requests/(\d+)/", page.url)
    assert match, page.url
    return int(match.group(1))


def no_plain_values(page) -> None:
    html = page.content()
    assert PHONE not in html and PHONE_E164 not in html and NAME not in html


# --- the tests -----------------------------------------------------------------------------------

def test_deletion_registered_by_the_agent_and_carried_out_by_the_admin(chromium, e2e_server, known, totp_secrets,
                                                                      totp_steps):
    base = e2e_server
    agent = person_page(chromium, base, "shunda_agent", totp_secrets, totp_steps)
    problems = watch(agent)
    open_page(agent, f"{base}/compliance/requests/new/")
    form = agent.locator("#dsr-new-form")
    form.locator("select[name=kind]").select_option("deletion")
    form.locator("input[name=channel]").fill("客服热线")
    form.locator("textarea[name=details]").fill("来电要求删除本人全部资料")
    click_and_wait(agent, agent.locator("#dsr-new-submit"))
    # refused in place: no phone, email, ID number or customer — what was typed is kept
    assert agent.url == f"{base}/compliance/requests/new/"
    assert agent.locator("#dsr-new-form .invalid-feedback").count() >= 1
    assert agent.locator("textarea[name=details]").input_value() == "来电要求删除本人全部资料"
    assert agent.locator("input[name=channel]").input_value() == "客服热线"
    shot(agent, "compliance-01-register-refused")
    agent.fill("input[name=subject_phone]", PHONE)
    agent.fill("input[name=customer_number]", known["number"])
    agent.fill("input[name=subject_name]", NAME)
    click_and_wait(agent, agent.locator("#dsr-new-submit"))
    dsr = request_id(agent, base)
    number = agent.inner_text("h1").split("·")[0].strip()
    assert re.fullmatch(r"DSR-\d{4}-\d{5}", number), number
    assert PHONE_MASKED in agent.inner_text("#dsr-phone")
    assert agent.locator("#dsr-verify, #dsr-close, #dsr-erase").count() == 0        # the agent does not handle it
    no_plain_values(agent)
    shot(agent, "compliance-02-registered")
    agent.context.close()

    admin = person_page(chromium, base, "shunda_admin", totp_secrets, totp_steps)
    problems += watch(admin)
    open_page(admin, f"{base}/compliance/requests/")
    assert admin.locator(f"#dsr-table tr[data-dsr='{dsr}']").count() == 1
    shot(admin, "compliance-03-queue")
    click_and_wait(admin, admin.locator(f"#dsr-table tr[data-dsr='{dsr}'] a"))
    assert admin.locator("#dsr-erase").count() == 0                                   # not before the identity check
    admin.select_option("select[name=verify-identity_method]", "id_document")
    admin.fill("input[name=verify-identity_note]", "柜台核验身份证原件")
    click_and_wait(admin, admin.locator("#verify-button"))
    assert admin.locator("#dsr-identity .badge.text-bg-success").count() == 1
    assert admin.locator("#dsr-preview tbody tr[data-section]").count() >= 1
    shot(admin, "compliance-04-preview")
    admin.fill("input[name=erase-confirm_number]", "DSR-0000-00000")
    click_and_wait(admin, admin.locator("#erase-button"))
    assert admin.locator("#erase-form .invalid-feedback").count() == 1
    assert admin.locator("#dsr-erased").count() == 0
    admin.fill("input[name=erase-confirm_number]", number)
    click_and_wait(admin, admin.locator("#erase-button"))
    assert admin.locator("#dsr-erased").is_visible() and admin.locator("#dsr-erased-counts").is_visible()
    shot(admin, "compliance-05-erased")
    admin.select_option("select[name=close-status]", "completed")
    admin.fill("textarea[name=close-resolution]", "已按要求完成匿名化处理并电话告知本人。")
    click_and_wait(admin, admin.locator("#close-button"))
    assert admin.locator("#dsr-status").get_attribute("data-status") == "completed"
    assert admin.locator("#dsr-close").count() == 0
    no_plain_values(admin)
    shot(admin, "compliance-06-completed")
    admin.context.close()
    assert problems == []


def test_access_export_progress_and_one_download(chromium, served, known, totp_secrets, totp_steps):
    base, _known, env = served
    admin = person_page(chromium, base, "shunda_admin", totp_secrets, totp_steps)
    problems = watch(admin)
    open_page(admin, f"{base}/compliance/requests/new/")
    admin.select_option("#dsr-new-form select[name=kind]", "access")
    admin.fill("input[name=subject_phone]", "13900008888")
    admin.fill("input[name=channel]", "邮件")
    click_and_wait(admin, admin.locator("#dsr-new-submit"))
    request_id(admin, base)
    assert admin.locator("#export-build").count() == 0                                 # identity first
    admin.select_option("select[name=verify-identity_method]", "sms_code")
    click_and_wait(admin, admin.locator("#verify-button"))
    click_and_wait(admin, admin.locator("#export-build"))
    panel = admin.locator("#dsr-exports")
    assert panel.get_attribute("data-running") == "1" and admin.locator("#dsr-exports progress").count() == 1
    shot(admin, "compliance-07-export-queued")

    assert manage_output(env, "shell", "-c", WORKER).splitlines()[-1] == "done"      # the worker builds it
    admin.locator("#export-download").wait_for(state="visible")                       # the poll picked it up
    assert admin.locator("#dsr-exports").get_attribute("data-running") == "0"
    shot(admin, "compliance-08-export-ready")
    with admin.expect_download() as info:
        admin.locator("#export-download").click()
    document = json.loads(Path(info.value.path()).read_bytes())
    assert document["format"] == "courier-crm-subject-export/1" and document["request"]
    admin.locator("#dsr-exports .export-downloaded").wait_for(state="visible")       # the panel reloads
    assert admin.locator("#export-download").count() == 0
    assert "shunda_admin" in admin.inner_text("#dsr-exports") or "陈静" in admin.inner_text("#dsr-exports")
    shot(admin, "compliance-09-downloaded")
    # once: even with the address, a second download gets nothing
    export_id = admin.locator("#dsr-exports [data-export]").first.get_attribute("data-export")
    token = admin.locator("#dsr-exports input[name=csrfmiddlewaretoken], input[name=csrfmiddlewaretoken]").first
    again = admin.request.post(f"{admin.url}exports/{export_id}/download/", fail_on_status_code=False,
                               form={"csrfmiddlewaretoken": token.input_value()}, headers={"Referer": admin.url})
    assert again.status == 410 and "attachment" not in again.headers.get("content-disposition", "")
    assert PHONE_E164 not in again.text()
    admin.context.close()
    assert problems == []


def test_auditors_path(chromium, e2e_server, known, totp_secrets, totp_steps):
    base = e2e_server
    auditor = person_page(chromium, base, "shunda_auditor", totp_secrets, totp_steps)
    problems = watch(auditor)
    open_page(auditor, f"{base}/compliance/")
    assert auditor.locator("#overview-requests").is_visible() and auditor.locator("#overview-keys").is_visible()
    assert auditor.locator("#overview-retention").is_visible() and auditor.locator("#overview-access").is_visible()
    shot(auditor, "compliance-10-overview")
    click_and_wait(auditor, auditor.locator("#link-requests"))
    assert auditor.url.startswith(f"{base}/compliance/requests/")
    assert auditor.locator("#dsr-new").count() == 0
    shot(auditor, "compliance-11-auditor-queue")
    open_page(auditor, f"{base}/compliance/requests/?status=all")
    rows = auditor.locator("#dsr-table tbody tr[data-dsr]")
    assert rows.count() >= 1
    click_and_wait(auditor, rows.first.locator("a"))
    assert auditor.locator("#dsr-facts").is_visible() and auditor.locator("#dsr-timeline").is_visible()
    assert auditor.locator("input[name=action]").count() == 0                          # no action forms
    no_plain_values(auditor)
    shot(auditor, "compliance-12-auditor-request")
    open_page(auditor, f"{base}/compliance/access-log/?action=export")
    assert "compliance.datasubjectrequest" in auditor.content()
    shot(auditor, "compliance-13-access-log")
    auditor.context.close()
    assert problems == []
