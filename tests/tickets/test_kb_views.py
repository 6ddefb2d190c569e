"""Knowledge-base pages over HTTP: the role matrix (readers see published articles only and get
403 on every edit), search ranking and highlighting, another company's article is 404, bad
input is 400 with the field named and nothing changed, versions and restore, publish and
archive, views counted, categories, the suggestion fragment and usage counted through the
ticket page's reply, and a constant query count on the list page."""
from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tenancy.models import Role
from tenancy.scoping import tenant_scope
from tickets.kb_demo import seed_kb_demo
from tickets.models import ArticleStatus, KbArticle, KbArticleVersion, KbCategory
from tickets.services import intake
from tickets.services import kb as services

EDITORS = {Role.BRANCH_MANAGER, Role.TENANT_ADMIN}


def make(tw, title, body, *, publish=True, **kwargs) -> KbArticle:
    user = tw.user(Role.BRANCH_MANAGER)
    with tenant_scope(tw.tenant, user=user):
        return services.article_create(actor=user, title=title, body=body, publish=publish, **kwargs)


def category(tw, name, position=100) -> KbCategory:
    with tenant_scope(tw.tenant):
        return services.category_create(actor=None, name=name, position=position)


def fetch(tw, article) -> KbArticle:
    with tenant_scope(tw.tenant):
        return KbArticle.objects.get(pk=article.pk)


def versions(tw, article) -> list[tuple[int, str]]:
    with tenant_scope(tw.tenant):
        return list(KbArticleVersion.objects.filter(article_id=article.pk).order_by("version")
                    .values_list("version", "body"))


@pytest.fixture
def kb(world):
    a, b = world.a, world.b
    a.cat = category(a, "理赔", 10)
    a.loss = make(a, "快件丢失理赔流程", "确认丢失后按保价金额赔偿；未保价的按运费三倍赔偿。", category=a.cat,
                  ticket_category="loss")
    a.tracking = make(a, "如何帮客户查件", "输入运单号查看物流轨迹。查不到轨迹请联系网点。",
                      ticket_category="tracking_inquiry")
    a.complaint = make(a, "投诉处理时限", "投诉应在7日内处理完毕并告知客户结果；快件丢失的投诉同样适用。",
                       ticket_category="complaint")
    a.draft = make(a, "破损理赔新流程", "破损理赔的新流程，尚未发布。", publish=False, category=a.cat)
    b.secret = make(b, "乙公司丢失理赔内部说明", "乙公司机密：丢失理赔请拨打内部热线。")
    return world


@pytest.mark.parametrize("role", Role.values)
def test_role_matrix(kb, role):
    a = kb.a
    client = kb.client_for(a.user(role))
    editor = role in EDITORS
    listing = client.get("/kb/")
    assert listing.status_code == 200
    page = listing.content.decode()
    assert "快件丢失理赔流程" in page
    assert ("破损理赔新流程" in page) is editor            # drafts only for editors
    assert ('id="kb-new"' in page) is editor
    assert client.get(f"/kb/{a.loss.pk}/").status_code == 200
    assert client.get(f"/kb/{a.draft.pk}/").status_code == (200 if editor else 404)
    assert client.get("/kb/new/").status_code == (200 if editor else 403)
    assert client.get(f"/kb/{a.loss.pk}/edit/").status_code == (200 if editor else 403)
    assert client.get("/kb/categories/").status_code == (200 if editor else 403)
    assert client.get(f"/kb/{a.loss.pk}/versions/1/").status_code == (200 if editor else 403)

    created = client.post("/kb/new/", {"title": "新文章", "body": "正文", "publish": "on"})
    assert created.status_code == (302 if editor else 403)
    edited = client.post(f"/kb/{a.loss.pk}/edit/", {"title": "快件丢失理赔流程", "body": "新的正文"})
    assert edited.status_code == (302 if editor else 403)
    archived = client.post(f"/kb/{a.tracking.pk}/archive/")
    assert archived.status_code == (302 if editor else 403)
    published = client.post(f"/kb/{a.draft.pk}/publish/")
    assert published.status_code == (302 if editor else 403)
    added = client.post("/kb/categories/", {"name": "改址", "position": "5"})
    assert added.status_code == (302 if editor else 403)
    assert client.post(f"/kb/categories/{a.cat.pk}/delete/").status_code == (400 if editor else 403)

    with tenant_scope(a.tenant):
        assert KbArticle.objects.filter(title="新文章").exists() is editor
        assert KbArticle.objects.get(pk=a.tracking.pk).status == (
            ArticleStatus.ARCHIVED if editor else ArticleStatus.PUBLISHED)
        assert KbArticle.objects.get(pk=a.draft.pk).status == (
            ArticleStatus.PUBLISHED if editor else ArticleStatus.DRAFT)
        assert KbCategory.objects.filter(name="改址").exists() is editor
        assert KbArticle.objects.get(pk=a.loss.pk).version == (2 if editor else 1)


def test_search_ranks_highlights_and_filters(kb):
    a = kb.a
    client = kb.client_for(a.user(Role.AGENT))
    response = client.get("/kb/", {"q": "丢失"})
    assert response.status_code == 200
    rows = list(response.context["page"])
    assert [r.title for r in rows] == ["快件丢失理赔流程", "投诉处理时限"]   # the title match first
    page = response.content.decode()
    assert "快件<mark>丢失</mark>理赔流程" in page
    assert "<mark>丢失</mark>的投诉" in page                            # the snippet is highlighted
    assert "乙公司" not in page
    assert [r.title for r in client.get("/kb/", {"q": "丢失", "category": a.cat.pk}).context["page"]] == [
        "快件丢失理赔流程"]
    assert list(client.get("/kb/", {"q": "航空运输"}).context["page"]) == []
    # no query: newest first, published only; an agent's status filter is not offered
    newest = [r.title for r in client.get("/kb/", {"status": "draft"}).context["page"]]
    assert newest == ["投诉处理时限", "如何帮客户查件", "快件丢失理赔流程"]
    # escaping: a query with markup is shown as text
    hostile = client.get("/kb/", {"q": "<script>丢失"}).content.decode()
    assert "<script>丢失" not in hostile
    # editors can list drafts and find them by substring
    manager = kb.client_for(a.user(Role.BRANCH_MANAGER))
    assert [r.title for r in manager.get("/kb/", {"status": "draft"}).context["page"]] == ["破损理赔新流程"]
    found = [r.title for r in manager.get("/kb/", {"q": "破损理赔"}).context["page"]]
    assert "破损理赔新流程" in found


def test_another_companys_article_and_category_are_404(kb):
    a, b = kb.a, kb.b
    secret = b.secret
    with tenant_scope(b.tenant):
        b_cat = services.category_create(actor=None, name="乙类目")
    for role in (Role.AGENT, Role.BRANCH_MANAGER, Role.TENANT_ADMIN):
        client = kb.client_for(a.user(role))
        assert client.get(f"/kb/{secret.pk}/").status_code == 404
        if role != Role.AGENT:
            assert client.get(f"/kb/{secret.pk}/edit/").status_code == 404
            assert client.post(f"/kb/{secret.pk}/edit/", {"title": "x", "body": "y"}).status_code == 404
            assert client.post(f"/kb/{secret.pk}/archive/").status_code == 404
            assert client.post(f"/kb/{secret.pk}/publish/").status_code == 404
            assert client.get(f"/kb/{secret.pk}/versions/1/").status_code == 404
            assert client.post(f"/kb/{secret.pk}/versions/1/", {"note": "x"}).status_code == 404
            assert client.post(f"/kb/categories/{b_cat.pk}/", {"name": "x"}).status_code == 404
            assert client.post(f"/kb/categories/{b_cat.pk}/delete/").status_code == 404
            # B's category is no choice in A's editor
            bad = client.post("/kb/new/", {"title": "借用乙类目", "body": "正文", "category": b_cat.pk})
            assert bad.status_code == 400 and bad.context["form"].has_error("category")
    after = fetch(b, secret)
    assert (after.status, after.version, after.view_count, after.title) == (
        ArticleStatus.PUBLISHED, 1, 0, "乙公司丢失理赔内部说明")
    with tenant_scope(b.tenant):
        assert KbCategory.objects.filter(pk=b_cat.pk, name="乙类目").exists()
    with tenant_scope(a.tenant):
        assert not KbArticle.objects.filter(title="借用乙类目").exists()


def test_bad_input_is_400_names_the_field_keeps_the_text_and_changes_nothing(kb):
    a = kb.a
    client = kb.client_for(a.user(Role.BRANCH_MANAGER))
    with tenant_scope(a.tenant):
        count = KbArticle.objects.count()
    typed = "客户问改址的时候先核对手机号"
    response = client.post("/kb/new/", {"title": "   ", "body": typed, "ticket_category": "address_change",
                                        "note": "初版"})
    assert response.status_code == 400
    form = response.context["form"]
    assert form.has_error("title") and not form.has_error("body")
    page = response.content.decode()
    assert typed in page and 'value="address_change" selected' in page
    too_long = client.post("/kb/new/", {"title": "x" * 201, "body": "正文"})
    assert too_long.status_code == 400 and too_long.context["form"].has_error("title")
    bad_choice = client.post("/kb/new/", {"title": "标题", "body": "正文", "ticket_category": "nope"})
    assert bad_choice.status_code == 400 and bad_choice.context["form"].has_error("ticket_category")
    with tenant_scope(a.tenant):
        assert KbArticle.objects.count() == count

    edit = client.post(f"/kb/{a.loss.pk}/edit/", {"title": "快件丢失理赔流程", "body": "", "note": "清空"})
    assert edit.status_code == 400 and edit.context["form"].has_error("body")
    assert "清空" in edit.content.decode()
    assert versions(a, a.loss) == [(1, a.loss.body)]

    # categories: a duplicate name, a bad order, and deleting a category that has articles
    dup = client.post("/kb/categories/", {"name": "理赔", "position": "1"})
    assert dup.status_code == 400 and dup.context["form"].has_error("name")
    rename = client.post(f"/kb/categories/{a.cat.pk}/", {"name": "理赔", "position": "-3"})
    assert rename.status_code == 400 and "-3" in rename.content.decode()
    refused = client.post(f"/kb/categories/{a.cat.pk}/delete/")
    assert refused.status_code == 400
    assert "alert-danger" in refused.content.decode() and " 2 " in refused.content.decode()
    with tenant_scope(a.tenant):
        assert KbCategory.objects.get(pk=a.cat.pk).position == 10


def test_edit_saves_a_pending_version_then_publish_restore_and_archive(kb):
    a = kb.a
    manager = kb.client_for(a.user(Role.BRANCH_MANAGER))
    agent = kb.client_for(a.user(Role.AGENT))
    article = a.loss
    form = manager.get(f"/kb/{article.pk}/edit/").context["form"]
    assert form.initial["body"] == article.body
    saved = manager.post(f"/kb/{article.pk}/edit/", {"title": "快件丢失理赔流程", "body": "新规：先核实再赔付。",
                                                     "category": a.cat.pk, "ticket_category": "loss",
                                                     "note": "改写"})
    assert saved.status_code == 302 and saved["Location"] == f"/kb/{article.pk}/"
    # readers keep the published text; editors see the draft with a notice
    assert "未保价" in agent.get(f"/kb/{article.pk}/").content.decode()
    assert "新规" not in agent.get(f"/kb/{article.pk}/").content.decode()
    page = manager.get(f"/kb/{article.pk}/")
    html = page.content.decode()
    assert page.context["latest"].pending and 'id="kb-pending"' in html and "新规" in html and "未保价" in html
    assert [v.version for v in page.context["versions"]] == [2, 1]
    # the editor opens the newest text
    assert manager.get(f"/kb/{article.pk}/edit/").context["form"].initial["body"] == "新规：先核实再赔付。"

    assert manager.post(f"/kb/{article.pk}/publish/").status_code == 302
    assert fetch(a, article).body == "新规：先核实再赔付。"
    assert "新规" in agent.get(f"/kb/{article.pk}/").content.decode()
    again = manager.post(f"/kb/{article.pk}/publish/", follow=True)   # nothing new to publish
    assert 'class="alert alert-danger"' in again.content.decode() and fetch(a, article).version == 2

    # restore version 1 with a note and publish it
    version_page = manager.get(f"/kb/{article.pk}/versions/1/")
    assert version_page.status_code == 200 and "未保价" in version_page.content.decode()
    restored = manager.post(f"/kb/{article.pk}/versions/1/", {"note": "回滚", "publish": "on"})
    assert restored.status_code == 302
    after = fetch(a, article)
    assert (after.version, after.published_version, after.body) == (3, 3, article.body)
    with tenant_scope(a.tenant):
        assert KbArticleVersion.objects.get(article_id=article.pk, version=3).note == "回滚"
    # restoring the newest version is refused with the page kept
    newest = manager.post(f"/kb/{article.pk}/versions/3/", {"note": "无效"})
    assert newest.status_code == 400 and fetch(a, article).version == 3
    assert manager.get(f"/kb/{article.pk}/versions/99/").status_code == 404

    # archive: gone for agents (page and search), back after "restore (publish again)"
    assert manager.post(f"/kb/{article.pk}/archive/").status_code == 302
    assert agent.get(f"/kb/{article.pk}/").status_code == 404
    assert "快件丢失理赔流程" not in agent.get("/kb/", {"q": "丢失"}).content.decode()
    assert 'id="kb-restore"' in manager.get(f"/kb/{article.pk}/").content.decode()
    assert manager.post(f"/kb/{article.pk}/publish/").status_code == 302
    assert fetch(a, article).status == ArticleStatus.PUBLISHED
    assert agent.get(f"/kb/{article.pk}/").status_code == 200


def test_views_are_counted(kb):
    a = kb.a
    agent = kb.client_for(a.user(Role.AGENT))
    for _ in range(3):
        agent.get(f"/kb/{a.tracking.pk}/")
    assert fetch(a, a.tracking).view_count == 3
    agent.get(f"/kb/{kb.b.secret.pk}/")
    assert fetch(kb.b, kb.b.secret).view_count == 0


def test_categories_page_adds_renames_reorders_and_deletes(kb):
    a = kb.a
    client = kb.client_for(a.user(Role.TENANT_ADMIN))
    page = client.get("/kb/categories/")
    assert [(c.name, c.article_count) for c, _f in page.context["rows"]] == [("理赔", 2)]
    assert client.post("/kb/categories/", {"name": "改址", "position": ""}).status_code == 302
    with tenant_scope(a.tenant):
        new = KbCategory.objects.get(name="改址")
    assert new.position == 100
    assert client.post(f"/kb/categories/{new.pk}/", {"name": "改址与退回", "position": "1"}).status_code == 302
    names = [c.name for c, _f in client.get("/kb/categories/").context["rows"]]
    assert names == ["改址与退回", "理赔"]
    assert client.post(f"/kb/categories/{new.pk}/delete/").status_code == 302
    with tenant_scope(a.tenant):
        assert not KbCategory.objects.filter(pk=new.pk).exists()


def test_suggestion_fragment_and_usage_counted_through_the_reply(kb):
    a = kb.a
    agent_user = a.user(Role.AGENT)
    client = kb.client_for(agent_user)
    fragment = client.get("/kb/suggest/", {"q": "快递丢失了怎么赔", "category": "loss"})
    assert fragment.status_code == 200
    html = fragment.content.decode()
    assert "<html" not in html and "快件丢失理赔流程" in html
    assert f'data-kb-insert="{a.loss.pk}"' in html and 'target="_blank"' in html
    assert "乙公司" not in html and "破损理赔新流程" not in html
    assert client.get("/kb/suggest/", {"q": "", "category": "nope"}).status_code == 200
    with tenant_scope(a.tenant, user=agent_user):
        ticket = intake.ticket_create(actor=agent_user, draft=intake.TicketDraft(
            channel="phone", category="loss", subject="快件丢失", caller_phone="13900001111"))
    page = client.get(f"/tickets/{ticket.pk}/").content.decode()
    assert 'id="kb-suggestions"' in page and "js/kb.js" in page and 'name="reply-kb_articles"' in page
    # the reply names the inserted articles (B's id and a draft's are ignored)
    sent = client.post(f"/tickets/{ticket.pk}/", {
        "action": "reply", "reply-kind": "reply", "reply-stage": "progress",
        "reply-body": "您好，理赔流程如下……", "reply-kb_articles": f"{a.loss.pk},{kb.b.secret.pk},{a.draft.pk}"})
    assert sent.status_code == 302
    assert fetch(a, a.loss).usage_count == 1
    assert fetch(a, a.draft).usage_count == 0
    assert fetch(kb.b, kb.b.secret).usage_count == 0
    shown = {r.title: r.usage_count for r in client.get("/kb/", {"q": "丢失"}).context["page"]}
    assert shown["快件丢失理赔流程"] == 1


def test_list_page_query_count_is_constant(world):
    a = world.a
    client = world.client_for(a.user(Role.BRANCH_MANAGER))
    cat = category(a, "查件")
    make(a, "查件文章0", "查件正文", category=cat)
    client.get("/kb/")  # warm caches (session, permissions)

    def count(params) -> int:
        with CaptureQueriesContext(connection) as queries:
            assert client.get("/kb/", params).status_code == 200
        return len(queries)

    small, small_search = count({}), count({"q": "查件"})
    for i in range(1, 30):
        make(a, f"查件文章{i}", f"查件正文{i}", category=cat, publish=i % 2 == 0)
    assert count({}) == small
    assert count({"q": "查件"}) == small_search


def test_demo_seed_is_idempotent(world):
    a = world.a
    with tenant_scope(a.tenant):
        assert seed_kb_demo() >= 10
        total = KbArticle.objects.count()
        assert seed_kb_demo() == 0 and KbArticle.objects.count() == total
        assert KbArticle.objects.filter(status=ArticleStatus.DRAFT).count() == 1
        assert KbCategory.objects.count() >= 3
    client = world.client_for(a.user(Role.AGENT))
    assert [r.title for r in client.get("/kb/", {"q": "保价"}).context["page"]][:1] == ["快件丢失理赔与保价规则"]
