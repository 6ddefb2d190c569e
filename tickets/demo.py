"""Demo service desk of a company (called by `manage.py seed_demo`): SLA defaults, knowledge
base, three teams with routing rules, macros, and a dozen tickets in every state, made through
the services like real ones."""
from __future__ import annotations

import random

from customers.models import Customer, CustomerKind
from tenancy.models import Membership, Role, User

from .models import AssignMode, MacroAction, ReplyStage, TicketStatus
from .services import conversation, core, desk, intake
from .services.sla import sla_defaults_ensure

TEAMS = [
    ("tracking", "查件催派组", AssignMode.ROUND_ROBIN,
     ["tracking_inquiry", "delivery_urge", "address_change", "delay"]),
    ("complaints", "投诉处理组", AssignMode.LEAST_OPEN, ["complaint"]),
    ("claims", "理赔组", AssignMode.ROUND_ROBIN, ["claim", "damage", "loss"]),
]
MACROS = [
    ("查件-已联系网点", MacroAction.REPLY, ReplyStage.PROGRESS, "",
     "{customer_name}您好，您的快件{waybill_number}我们已联系派送网点核实，将在今天内给您回复。工单号：{ticket_number}。"),
    ("投诉-受理致歉", MacroAction.REPLY, ReplyStage.INTAKE, "",
     "{customer_name}您好，非常抱歉给您带来不便。您的投诉（工单{ticket_number}）已受理，我们会在7天内处理完毕并告知结果。"),
    ("请客户补充照片", MacroAction.REPLY, ReplyStage.PROGRESS, TicketStatus.WAITING_CUSTOMER,
     "{customer_name}您好，请回复外包装和物品破损处的照片，收到后我们立即为您处理。"),
    ("内部-转网点核实", MacroAction.NOTE, ReplyStage.PROGRESS, "",
     "已转{waybill_number}所属网点核实，等待网点回电。"),
]
TICKETS = [
    ("tracking_inquiry", "phone", "快件三天没有更新物流", "normal"),
    ("delivery_urge", "phone", "催促今天派送，急用", "high"),
    ("address_change", "wechat", "收件地址写错，需改址", "normal"),
    ("complaint", "phone", "快递员未打电话直接放驿站", "normal"),
    ("complaint", "web", "派件员态度恶劣", "high"),
    ("damage", "phone", "收到包裹外箱破损，物品碎了", "high"),
    ("loss", "phone", "显示已签收但本人没收到", "urgent"),
    ("tracking_inquiry", "email", "国际件清关进度查询", "low"),
    ("complaint", "phone", "多次催件无人处理", "high"),
    ("delay", "app", "承诺次日达，已延误两天", "normal"),
    ("other", "phone", "咨询寄件价格和时效", "low"),
    ("delivery_urge", "wechat", "生鲜件请尽快派送", "urgent"),
]


def seed_service_desk(*, admin: User, prefix: str) -> dict:
    """Inside the company's tenant scope as its admin."""
    rng = random.Random(f"desk-{prefix}")  # noqa: S311 — reproducible demo data
    sla_defaults_ensure()
    try:
        from .kb_demo import seed_kb_demo
    except ImportError:  # pragma: no cover - the knowledge base ships with this app
        seed_kb_demo = None
    if seed_kb_demo:
        seed_kb_demo()
    agents = list(Membership.objects.filter(role=Role.AGENT, is_active=True).order_by("pk"))
    lead = Membership.objects.filter(role=Role.BRANCH_MANAGER, is_active=True).order_by("pk").first()
    teams = {}
    for position, (code, name, mode, categories) in enumerate(TEAMS, start=1):
        team = desk.team_save(actor=admin, code=code, name=name, assign_mode=mode, lead_id=lead.pk if lead else None,
                              member_ids=[a.pk for a in agents])
        teams[code] = team
        for category in categories:
            desk.routing_rule_save(actor=admin, name=f"{name}·{category}", team_id=team.pk, category=category,
                                   position=position * 10)
    for name, action, stage, set_status, body in MACROS:
        desk.macro_save(actor=admin, name=name, body=body, action=action, stage=stage, set_status=set_status)
    persons = list(Customer.objects.filter(kind=CustomerKind.PERSON).order_by("number")[:12])
    opened = []
    for index, (category, channel, subject, priority) in enumerate(TICKETS):
        customer = persons[index % len(persons)] if persons else None
        ticket = intake.ticket_create(actor=admin, draft=intake.TicketDraft(
            channel=channel, category=category, subject=subject, priority=priority,
            customer_id=customer.pk if customer else None, caller_phone=f"1390000{rng.randint(1000, 9999)}",
            caller_email="demo.customer@example.com" if channel in ("email", "web") else "",
            external_ref=f"demo-{prefix}-{index}" if channel in ("wechat", "app") else "",
            description=f"{subject}。客户来电说明情况，请尽快处理。"))
        opened.append(ticket)
    for ticket in opened[3:6]:
        conversation.ticket_reply(actor=admin, ticket=ticket, body="您好，我们已联系网点核实，稍后回复您。")
    waiting = conversation.ticket_reply(actor=admin, ticket=opened[6], body="请提供签收时间段和地址照片。",
                                        then_status=TicketStatus.WAITING_CUSTOMER)
    conversation.ticket_note(actor=admin, ticket=waiting, body="网点反馈：快递员称放在门口。")
    done = conversation.ticket_reply(actor=admin, ticket=opened[10], body="标准件首重12元，次日达。",
                                     stage=ReplyStage.RESULT)
    core.ticket_transition(actor=admin, ticket=done, to_status=TicketStatus.RESOLVED, note="已解答价格问题")
    return {"teams": len(teams), "tickets": len(opened)}
