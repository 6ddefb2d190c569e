"""The platform's pages as a person uses them, in Chromium."""
import re

import pytest

pytestmark = pytest.mark.browser

ROLE_LANDING = [
    ("shunda_agent", "/", "欢迎"),
    ("shunda_sales", "/sales/", "销售工作台"),
    ("shunda_branch", "/", "我管辖的网点"),
    ("shunda_auditor", "/", "最近的个人信息访问"),
    ("shunda_exec", "/", "网点架构"),
    ("shunda_admin", "/manage/users/", "用户与角色"),
    ("xunjie_agent", "/", "欢迎"),
]


@pytest.mark.parametrize(("username", "path", "text"), ROLE_LANDING)
def test_demo_user_lands_on_role_home(login, e2e_server, username, path, text):
    page = login(username)
    assert page.url == f"{e2e_server}{path}"
    assert text in page.content()


def test_admin_creates_user_fixes_error_and_reveals_phone(login, e2e_server):
    page = login("xunjie_admin")
    page.click("text=新建用户")
    page.fill("input[name=username]", "e2e_agent")
    page.fill("input[name=display_name]", "测试客服")
    page.select_option("select[name=role]", "agent")
    page.fill("input[name=work_phone]", "139 8888 1234")
    page.fill("input[name=password]", "123")
    page.click("button[type=submit]")
    # the weak password is refused in place; what was typed is still there
    assert page.locator(".invalid-feedback").count() >= 1
    assert page.input_value("input[name=username]") == "e2e_agent"
    assert page.input_value("input[name=display_name]") == "测试客服"
    page.fill("input[name=password]", "A-Much-Better-Passw0rd")
    page.click("button[type=submit]")
    page.wait_for_url(f"{e2e_server}/manage/users/")
    row = page.locator("tr", has_text="e2e_agent")
    assert "139****1234" in row.inner_text()
    row.locator("text=编辑").click()
    page.click("text=查看完整信息")
    page.fill("input[name=reason]", "核对新员工联系方式")
    page.click("button:has-text('显示')")
    page.wait_for_selector(".revealed")
    assert page.inner_text(".revealed") == "+8613988881234"
    page.goto(f"{e2e_server}/compliance/access-log/")
    assert "核对新员工联系方式" in page.content()


def test_external_auditor_switches_company(login, e2e_server):
    page = login("ext_auditor")
    brand = page.inner_text(".navbar-brand small")
    target = "迅捷速运" if brand == "顺达快递" else "顺达快递"
    with page.expect_navigation():
        page.select_option("select[name=tenant_id]", label=target)
    assert page.inner_text(".navbar-brand small") == target
    page.goto(f"{e2e_server}/branches/")
    assert ("北京朝阳网点" in page.content()) == (target == "迅捷速运")
    assert ("上海浦东网点" in page.content()) == (target == "顺达快递")


def test_language_switch_to_english(login, e2e_server):
    page = login("shunda_exec")
    with page.expect_navigation():
        page.select_option("select[name=language]", "en")
    assert page.inner_text("h1").startswith("Welcome")
    assert "Branch network" in page.content()
    assert re.search(r'<html lang="en"', page.content())
    with page.expect_navigation():
        page.select_option("select[name=language]", "zh-hans")
    assert page.inner_text("h1").startswith("欢迎")


def test_agent_cannot_open_admin_area(login, e2e_server):
    page = login("shunda_agent")
    response = page.goto(f"{e2e_server}/manage/users/")
    assert response.status == 403
    assert "用户与角色" not in page.inner_text("nav")


def test_pages_run_without_csp_violations_or_console_errors(login, e2e_server):
    page = login("shunda_branch")
    problems = []
    page.on("console", lambda message: problems.append(message.text) if message.type in ("error", "warning") else None)
    for path in ["/", "/branches/", "/me/", "/me/api-tokens/"]:
        page.goto(f"{e2e_server}{path}")
        page.wait_for_load_state("networkidle")
    assert problems == []
