"""Knowledge base: Chinese search in SQL (substrings without spaces, ranking, only published
text of the own tenant), versions and restore, publishing keeps the live text, usage and view
counts, suggestions for a ticket, categories."""
from __future__ import annotations

import pytest

from tenancy.models import Role
from tenancy.scoping import tenant_scope
from tickets.selectors import kb as selectors
from tickets.services import kb as services

EDITOR = Role.BRANCH_MANAGER


def publish(tw, title, body, **kwargs):
    user = tw.user(EDITOR)
    with tenant_scope(tw.tenant, user=user):
        return services.article_create(actor=user, title=title, body=body, publish=kwargs.pop("publish", True),
                                       **kwargs)


def titles(tw, query, **kwargs):
    with tenant_scope(tw.tenant, user=tw.user(Role.AGENT)):
        return [a.title for a in selectors.kb_search(query, **kwargs)]


@pytest.fixture
def kb(world):
    a = world.a
    publish(a, "快件丢失理赔流程",
            "客户反映快件丢失时，先核实运单轨迹，确认丢失后按保价金额赔偿。未保价的按运费三倍赔偿。",
            ticket_category="loss")
    publish(a, "如何查询快递物流", "输入运单号即可查件。顺丰运单号以SF开头，共15位。查不到轨迹请联系网点。",
            ticket_category="tracking_inquiry")
    publish(a, "投诉处理时限", "根据快递暂行条例，投诉应在7日内处理完毕并告知客户结果；快件丢失的投诉同样适用。",
            ticket_category="complaint")
    publish(a, "破损理赔（草稿）", "破损理赔的新流程，尚未发布。", publish=False)
    publish(world.b, "乙公司的丢失理赔说明", "乙公司：丢失理赔请拨打客服热线。")
    return world


def test_finds_chinese_substrings_without_spaces_and_ranks_the_title_match_first(kb):
    a = kb.a
    assert titles(a, "理赔")[0] == "快件丢失理赔流程"
    assert titles(a, "丢失") == ["快件丢失理赔流程", "投诉处理时限"]  # title match first, then the text match
    assert titles(a, "查件") == ["如何查询快递物流"]
    assert titles(a, "sf") == ["如何查询快递物流"]             # a Latin waybill prefix, any case
    assert titles(a, "SF开头") == ["如何查询快递物流"]
    assert titles(a, "7日内") == ["投诉处理时限"]
    assert titles(a, "航空运输") == []


def test_drafts_archived_and_the_other_tenant_are_not_found(kb):
    a = kb.a
    assert "破损理赔（草稿）" not in titles(a, "破损理赔")
    assert titles(a, "乙公司") == []
    assert titles(kb.b, "理赔") == ["乙公司的丢失理赔说明"]
