"""Knowledge-base API: the role matrix, ranked search with filters, another company's ids (404 in
the path, "does not exist" in the payload), bad input in the error envelope with nothing
changed, versions, restore, publish and archive, categories, suggestions, and a constant query
count on the list."""
from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tenancy.models import Role
from tenancy.scoping import tenant_scope
from tickets.models import KbArticle, KbCategory
from tickets.services import kb as services

EDITORS = {Role.BRANCH_MANAGER, Role.TENANT_ADMIN}
API = "/api/v1/kb-articles/"
CATS = "/api/v1/kb-categories/"


def make(tw, title, body, *, publish=True, **kwargs) -> KbArticle:
    user = tw.user(Role.BRANCH_MANAGER)
    with tenant_scope(tw.tenant, user=user):
        return services.article_create(actor=user, title=title, body=body, publish=publish, **kwargs)


def fetch(tw, article) -> KbArticle:
    with tenant_scope(tw.tenant):
        return KbArticle.objects.get(pk=article.pk)


def post(client, url, data=None):
    return client.post(url, data or {}, content_type="application/json")


def patch(client, url, data):
    return client.patch(url, data, content_type="application/json")


@pytest.fixture
def kb(world):
    a, b = world.a, world.b
    with tenant_scope(a.tenant):
        a.cat = services.category_create(actor=None, name="理赔", position=10)
    with tenant_scope(b.tenant):
        b.cat = services.category_create(actor=None, name="乙类目")
    a.loss = make(a, "快件丢失理赔流程", "确认丢失后按保价金额赔偿；未保价的按运费三倍赔偿。", category=a.cat,
                  ticket_category="loss")
    a.complaint = make(a, "投诉处理时限", "投诉应在7日内处理完毕并告知客户结果；快件丢失的投诉同样适用。",
                       ticket_category="complaint")
    a.draft = make(a, "破损理赔新流程", "破损理赔的新流程，尚未发布。", publish=False, category=a.cat)
    b.secret = make(b, "乙公司丢失理赔内部说明", "乙公司机密：丢失理赔请拨打内部热线。", category=b.cat)
    return world


@pytest.mark.parametrize("role", Role.values)
def test_role_matrix(kb, role):
    a = kb.a
    client = kb.client_for(a.user(role))
    editor = role in EDITORS
    listing = client.get(API)
    assert listing.status_code == 200
    titles = {r["title"] for r in listing.json()["results"]}
    assert "快件丢失理赔流程" in titles and ("破损理赔新流程" in titles) is editor
    assert client.get(f"{API}{a.draft.pk}/").status_code == (200 if editor else 404)
    detail = client.get(f"{API}{a.loss.pk}/").json()
    assert detail["body"].startswith("确认丢失") and detail["draft"] is None
    assert client.get(f"{API}{a.loss.pk}/versions/").status_code == (200 if editor else 403)
    assert client.get(CATS).status_code == 200

    write = 200 if editor else 403
    assert post(client, API, {"title": "新文章", "body": "正文"}).status_code == (201 if editor else 403)
    assert patch(client, f"{API}{a.loss.pk}/", {"body": "新正文"}).status_code == write
    assert post(client, f"{API}{a.draft.pk}/publish/").status_code == write
    assert post(client, f"{API}{a.complaint.pk}/archive/").status_code == write
    assert post(client, CATS, {"name": "改址"}).status_code == (201 if editor else 403)
    assert patch(client, f"{CATS}{a.cat.pk}/", {"position": 3}).status_code == write
    with tenant_scope(a.tenant):
        assert KbArticle.objects.filter(title="新文章").exists() is editor
        assert KbArticle.objects.get(pk=a.loss.pk).version == (2 if editor else 1)
        assert KbArticle.objects.get(pk=a.draft.pk).status == ("published" if editor else "draft")
        assert KbArticle.objects.get(pk=a.complaint.pk).status == ("archived" if editor else "published")
        assert KbCategory.objects.get(pk=a.cat.pk).position == (3 if editor else 10)


def test_search_ranks_filters_and_paginates(kb):
    a = kb.a
    client = kb.client_for(a.user(Role.AGENT))
    body = client.get(API, {"q": "丢失"}).json()
    assert [r["title"] for r in body["results"]] == ["快件丢失理赔流程", "投诉处理时限"]
    assert body["count"] == 2 and body["results"][0]["score"] > body["results"][1]["score"]
    assert client.get(API).json()["results"][0]["score"] is None
    assert [r["title"] for r in client.get(API, {"q": "丢失", "category": a.cat.pk}).json()["results"]] == [
        "快件丢失理赔流程"]
    assert client.get(API, {"category": kb.b.cat.pk}).json()["results"] == []
    assert client.get(API, {"q": "乙公司"}).json()["results"] == []
    # a reader's status filter never shows a draft
    assert client.get(API, {"status": "draft"}).json()["results"] == []
    manager = kb.client_for(a.user(Role.BRANCH_MANAGER))
    assert [r["title"] for r in manager.get(API, {"status": "draft"}).json()["results"]] == ["破损理赔新流程"]
    paged = client.get(API, {"page_size": 1, "q": "丢失"}).json()
    assert len(paged["results"]) == 1 and paged["next"]
    bad = client.get(API, {"category": "abc", "status": "nope", "q": "x" * 201})
    assert bad.status_code == 400 and set(bad.json()["error"]["fields"]) == {"category", "status", "q"}


def test_another_companys_ids(kb):
    a, b = kb.a, kb.b
    client = kb.client_for(a.user(Role.TENANT_ADMIN))
    secret = b.secret
    assert client.get(f"{API}{secret.pk}/").status_code == 404
    assert patch(client, f"{API}{secret.pk}/", {"title": "x"}).status_code == 404
    for verb in ("publish", "archive"):
        assert post(client, f"{API}{secret.pk}/{verb}/").status_code == 404
    assert post(client, f"{API}{secret.pk}/restore/", {"version": 1}).status_code == 404
    assert client.get(f"{API}{secret.pk}/versions/").status_code == 404
    assert client.get(f"{CATS}{b.cat.pk}/").status_code == 404
    assert patch(client, f"{CATS}{b.cat.pk}/", {"name": "x"}).status_code == 404
    assert client.delete(f"{CATS}{b.cat.pk}/").status_code == 404
    borrowed = post(client, API, {"title": "借用", "body": "正文", "category": b.cat.pk})
    assert borrowed.status_code == 400 and "category" in borrowed.json()["error"]["fields"]
    moved = patch(client, f"{API}{a.loss.pk}/", {"category": b.cat.pk})
    assert moved.status_code == 400
    assert fetch(a, a.loss).category_id == a.cat.pk
    after = fetch(b, secret)
    assert (after.title, after.status, after.version) == ("乙公司丢失理赔内部说明", "published", 1)


def test_bad_input_is_the_error_envelope_and_changes_nothing(kb):
    a = kb.a
    client = kb.client_for(a.user(Role.BRANCH_MANAGER))
    with tenant_scope(a.tenant):
        count = KbArticle.objects.count()
    bad = post(client, API, {"title": "  ", "body": "", "ticket_category": "nope"})
    assert bad.status_code == 400
    error = bad.json()["error"]
    assert error["code"] == "invalid" and {"title", "body", "ticket_category"} <= set(error["fields"])
    assert post(client, API, {"title": "x" * 201, "body": "正文"}).status_code == 400
    assert patch(client, f"{API}{a.loss.pk}/", {"body": "   "}).status_code == 400
    newest = post(client, f"{API}{a.loss.pk}/restore/", {"version": 1})
    assert newest.status_code == 400 and "version" in newest.json()["error"]["fields"]
    missing = post(client, f"{API}{a.loss.pk}/restore/", {"version": 9})
    assert missing.status_code == 400 and "version" in missing.json()["error"]["fields"]
    already = post(client, f"{API}{a.loss.pk}/publish/")
    assert already.status_code == 400 and "status" in already.json()["error"]["fields"]
    dup = post(client, CATS, {"name": "理赔"})
    assert dup.status_code == 400 and "name" in dup.json()["error"]["fields"]
    refused = client.delete(f"{CATS}{a.cat.pk}/")
    assert refused.status_code == 400 and "category" in refused.json()["error"]["fields"]
    with tenant_scope(a.tenant):
        assert KbArticle.objects.count() == count
        assert KbCategory.objects.filter(pk=a.cat.pk).exists()
    loss = fetch(a, a.loss)
    assert (loss.version, loss.body) == (1, a.loss.body)


def test_versions_restore_publish_and_archive(kb):
    a = kb.a
    client = kb.client_for(a.user(Role.TENANT_ADMIN))
    agent = kb.client_for(a.user(Role.AGENT))
    url = f"{API}{a.loss.pk}/"
    edited = patch(client, url, {"body": "新规：先核实再赔付。", "note": "改写"})
    assert edited.status_code == 200
    data = edited.json()
    assert data["body"].startswith("确认丢失") and data["draft"] == {
        "version": 2, "title": "快件丢失理赔流程", "body": "新规：先核实再赔付。"}
    assert data["version"] == 2 and data["published_version"] == 1
    assert agent.get(url).json()["draft"] is None and agent.get(url).json()["body"].startswith("确认丢失")
    history = client.get(f"{url}versions/").json()
    assert [(v["version"], v["note"]) for v in history] == [(2, "改写"), (1, "")]
    published = post(client, f"{url}publish/").json()
    assert published["body"] == "新规：先核实再赔付。" and published["draft"] is None
    restored = post(client, f"{url}restore/", {"version": 1, "note": "回滚", "publish": True}).json()
    assert (restored["version"], restored["published_version"]) == (3, 3)
    assert restored["body"] == a.loss.body
    archived = post(client, f"{url}archive/").json()
    assert archived["status"] == "archived"
    assert agent.get(url).status_code == 404
    assert agent.get(API, {"q": "丢失"}).json()["results"][0]["title"] == "投诉处理时限"
    assert post(client, f"{url}publish/").json()["status"] == "published"


def test_categories_and_suggestions(kb):
    a = kb.a
    client = kb.client_for(a.user(Role.BRANCH_MANAGER))
    cats = client.get(CATS).json()
    assert cats == [{"id": a.cat.pk, "name": "理赔", "position": 10, "article_count": 2, "published_count": 1}]
    created = post(client, CATS, {"name": "改址"})
    assert created.status_code == 201 and created.json()["position"] == 100
    pk = created.json()["id"]
    renamed = patch(client, f"{CATS}{pk}/", {"name": "改址与退回", "position": 1}).json()
    assert renamed["name"] == "改址与退回" and [c["id"] for c in client.get(CATS).json()] == [pk, a.cat.pk]
    assert client.delete(f"{CATS}{pk}/").status_code == 204

    agent = kb.client_for(a.user(Role.AGENT))
    found = agent.get(f"{API}suggest/", {"q": "快递丢失了怎么赔", "category": "loss"})
    assert found.status_code == 200
    assert found.json()[0]["id"] == a.loss.pk and "乙公司" not in found.content.decode()
    assert all(s["id"] != a.draft.pk for s in found.json())
    assert agent.get(f"{API}suggest/", {"category": "nope"}).status_code == 400


def test_list_query_count_is_constant(world):
    a = world.a
    client = world.client_for(a.user(Role.BRANCH_MANAGER))
    with tenant_scope(a.tenant):
        cat = services.category_create(actor=None, name="查件")
    make(a, "查件文章0", "查件正文", category=cat)
    client.get(API)

    def count(params) -> int:
        with CaptureQueriesContext(connection) as queries:
            assert client.get(API, params).status_code == 200
        return len(queries)

    small, small_search = count({}), count({"q": "查件"})
    for i in range(1, 30):
        make(a, f"查件文章{i}", f"查件正文{i}", category=cat, publish=i % 2 == 0)
    assert count({}) == small
    assert count({"q": "查件"}) == small_search
    assert len(client.get(API).json()["results"]) == 20
