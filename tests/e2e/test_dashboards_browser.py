"""The dashboards in Chromium, on the demo company 顺达快递: the executive opens /reports/, every
chart is drawn from its JSON endpoint (a canvas per section, its fallback table filled, no console
error — a CSP violation would be one), changes the date filter (every chart and CSV link follows
it) and downloads a chart's CSV, whose header is the chart table's header. The module serves its
own copy of the demo database with the shipments rollup rebuilt."""
import csv
import datetime as dt
import io
from urllib.parse import parse_qs, urlsplit

import pytest

from ..served import MANAGE, free_port, manage_output, served_database, serving
from .helpers import shot, watch

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def e2e_server():
    """The demo database with the dashboards' shipments rollup rebuilt (what the periodic task
    keeps up to date in a running system)."""
    with served_database("e2e_dashboards") as env:
        manage_output(env, "rebuild_dashboard_rollup", "--tenant", "shunda")
        port = free_port()
        with serving([*MANAGE, "runserver", f"127.0.0.1:{port}", "--noreload"], dict(env, DJANGO_DEBUG="1"),
                     port) as url:
            yield url


def wait_for_charts(page) -> int:
    page.wait_for_function(
        "() => { const c = document.querySelectorAll('canvas.dashboard-chart');"
        " return c.length > 0 && [...c].every(x => x.dataset.rendered); }")
    canvases = page.locator("canvas.dashboard-chart")
    for i in range(canvases.count()):
        assert canvases.nth(i).get_attribute("data-rendered") == "true"
    return canvases.count()


def test_executive_opens_filters_and_exports_the_dashboards(login, page, e2e_server):
    problems = watch(page)
    login("shunda_exec")
    page.goto(f"{e2e_server}/reports/")
    page.wait_for_load_state("networkidle")
    assert wait_for_charts(page) == 7  # complaints, SLA, CSAT/NPS, churn, retention, claims, fines
    header = page.locator("#chart-complaints .dashboard-table thead th")
    assert header.count() == 7
    shot(page, "dashboards")

    start = (dt.date.today() - dt.timedelta(days=60)).isoformat()
    page.fill("input[name=start]", start)
    page.click(".dashboard-filter button[type=submit]")
    page.wait_for_load_state("networkidle")
    assert parse_qs(urlsplit(page.url).query)["start"] == [start]
    wait_for_charts(page)
    for link in page.locator("canvas.dashboard-chart").all():
        assert f"start={start}" in link.get_attribute("data-url")
    csv_link = page.locator("#chart-sla a.dashboard-csv")
    assert f"start={start}" in csv_link.get_attribute("href")

    with page.expect_download() as download_info:
        csv_link.click()
    download = download_info.value
    assert download.suggested_filename.startswith(f"sla_{start}_")
    rows = list(csv.reader(io.StringIO(open(download.path(), encoding="utf-8-sig").read())))
    table_header = [th.text_content().strip() for th in page.locator("#chart-sla .dashboard-table thead th").all()]
    assert rows[0] == table_header
    assert len(rows) - 1 == page.locator("#chart-sla .dashboard-table tbody tr").count()
    assert problems == []
