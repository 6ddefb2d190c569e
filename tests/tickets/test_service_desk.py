"""Intake, routing and round-robin assignment, replies through the channel adapters, the SLA
pause in waiting_customer, inbound messages, merge and split — through the services, with two
tenants present."""
from __future__ import annotations

import datetime as dt

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.utils import timezone

from tenancy.models import Role
from tenancy.scoping import tenant_scope
from tickets.models import DeliveryStatus, OutboundMessage, Ticket, TicketEvent, TicketStatus
from tickets.services import conversation, core, desk, intake, merge


def draft(**kw) -> intake.TicketDraft:
    base = {"channel": "phone", "category": "complaint", "subject": "快递三天没动", "caller_phone": "13900001111"}
    base.update(kw)
    return intake.TicketDraft(**base)


def kinds(ticket) -> list[str]:
    return list(TicketEvent.objects.filter(ticket=ticket).order_by("id").values_list("kind", flat=True))


def test_create_routes_to_the_team_and_assigns_round_robin_skipping_people_away(desks):
    tw = desks.a
    agent = tw.user(Role.AGENT)
    with tenant_scope(tw.tenant, user=agent):
        first = intake.ticket_create(actor=agent, draft=draft(customer_id=tw.desk.person.pk))
        second = intake.ticket_create(actor=agent, draft=draft())
        desk.away_set(membership=tw.desk.agents[0], away=True)
        third = intake.ticket_create(actor=agent, draft=draft())
        fourth = intake.ticket_create(actor=agent, draft=draft())
        other = intake.ticket_create(actor=agent, draft=draft(category="tracking_inquiry"))
        assert first.number.startswith(f"T{timezone.now().year}-")
        assert first.team_id == tw.desk.team.pk and other.team_id is None
        assert {first.assignee_id, second.assignee_id} == {a.pk for a in tw.desk.agents}
        assert third.assignee_id == fourth.assignee_id == tw.desk.agents[1].pk
        assert first.status == TicketStatus.ASSIGNED and other.status == TicketStatus.NEW
        assert kinds(first) == ["created", "assigned"]
        # Complaint policy: first response in working time, resolution 7 calendar days.
        assert first.resolution_due - first.created_at == dt.timedelta(days=7)
        assert first.first_response_due > first.created_at and first.first_response_warn_at < first.first_response_due
    with tenant_scope(desks.b.tenant):
        assert not Ticket.objects.exists()


def test_bad_draft_names_every_field_and_writes_nothing(desks):
    tw = desks.a
    agent = tw.user(Role.AGENT)
    with tenant_scope(tw.tenant, user=agent):
        with pytest.raises(ValidationError) as exc:
            intake.ticket_create(actor=agent, draft=draft(subject=" ", category="nope", caller_phone="12",
                                                          waybill_number="NOSUCH1", customer_id=desks.b.desk.person.pk))
        assert {"subject", "category", "caller_phone", "waybill_number", "customer"} <= set(exc.value.message_dict)
        assert not Ticket.objects.exists()


def test_web_ticket_is_acknowledged_and_a_reply_goes_out_by_email_then_counts_as_first_response(desks):
    tw = desks.a
    agent = tw.user(Role.AGENT)
    with tenant_scope(tw.tenant, user=agent):
        ticket = intake.ticket_create(actor=None, draft=draft(channel="web", caller_email="li@example.com",
                                                              caller_phone=""))
        ack = OutboundMessage.objects.get(ticket=ticket)
        assert ack.stage == "intake" and ack.channel == "email" and ticket.first_responded_at is None
        assert conversation.outbound_deliver(message_id=ack.pk) == DeliveryStatus.SENT
        assert conversation.outbound_deliver(message_id=ack.pk) == DeliveryStatus.SENT  # twice: sent once
        assert len(mail.outbox) == 1 and ticket.number in mail.outbox[0].subject
        ticket = conversation.ticket_reply(actor=agent, ticket=ticket, body="您好，已联系网点。")
        assert ticket.first_responded_at is not None and ticket.status == TicketStatus.IN_PROGRESS
        reply = OutboundMessage.objects.filter(ticket=ticket).latest("id")
        conversation.outbound_deliver(message_id=reply.pk)
        assert len(mail.outbox) == 2 and "已联系网点" in mail.outbox[1].body
        note = conversation.ticket_note(actor=agent, ticket=ticket, body="内部：网点电话未接")
        assert not OutboundMessage.objects.filter(event=note).exists()


def test_phone_reply_is_recorded_not_sent(desks):
    tw = desks.a
    agent = tw.user(Role.AGENT)
    with tenant_scope(tw.tenant, user=agent):
        ticket = intake.ticket_create(actor=agent, draft=draft())
        assert not OutboundMessage.objects.filter(ticket=ticket).exists()  # the agent says it on the call
        conversation.ticket_reply(actor=agent, ticket=ticket, body="已催促派送", stage="progress")
        message = OutboundMessage.objects.get(ticket=ticket)
        assert conversation.outbound_deliver(message_id=message.pk) == DeliveryStatus.RECORDED
        assert len(mail.outbox) == 0


def test_waiting_for_the_customer_pauses_the_clock(desks):
    tw = desks.a
    agent = tw.user(Role.AGENT)
    with tenant_scope(tw.tenant, user=agent):
        ticket = intake.ticket_create(actor=agent, draft=draft(category="tracking_inquiry"))
        ticket = core.ticket_transition(actor=agent, ticket=ticket, to_status="in_progress")
        due = ticket.resolution_due
        ticket = core.ticket_transition(actor=agent, ticket=ticket, to_status="waiting_customer")
        assert ticket.sla_paused_at is not None
        Ticket.objects.filter(pk=ticket.pk).update(sla_paused_at=ticket.sla_paused_at - dt.timedelta(days=2))
        ticket = core.ticket_transition(actor=agent, ticket=Ticket.objects.get(pk=ticket.pk), to_status="in_progress")
        assert ticket.sla_paused_at is None and ticket.resolution_due > due


def test_inbound_thread_resumes_then_reopens_and_a_new_thread_opens_a_ticket(desks):
    tw = desks.a
    agent = tw.user(Role.AGENT)
    message = intake.InboundMessage(channel="wechat", external_ref="wx-thread-1", body="我的件到哪了？",
                                    sender_phone="13800138001")
    with tenant_scope(tw.tenant, user=agent):
        ticket, created = intake.inbound_message_receive(actor=None, message=message)
        assert created and ticket.customer_id == tw.desk.person.pk and ticket.channel == "wechat"
        ticket = core.ticket_transition(actor=agent, ticket=ticket, to_status="in_progress")
        ticket = core.ticket_transition(actor=agent, ticket=ticket, to_status="waiting_customer")
        again, created = intake.inbound_message_receive(actor=None, message=message)
        assert not created and again.pk == ticket.pk and again.status == TicketStatus.IN_PROGRESS
        core.ticket_transition(actor=agent, ticket=again, to_status="resolved", note="已签收")
        reopened, created = intake.inbound_message_receive(actor=None, message=message)
        assert not created and reopened.status == TicketStatus.REOPENED
        assert kinds(ticket).count("customer_message") == 2
        other, created = intake.inbound_message_receive(
            actor=None, message=intake.InboundMessage(channel="wechat", external_ref="wx-thread-2", body="改地址"))
        assert created and other.pk != ticket.pk


def test_merge_keeps_every_event_and_closes_duplicates_with_a_link(desks):
    tw = desks.a
    agent = tw.user(Role.AGENT)
    with tenant_scope(tw.tenant, user=agent):
        target = intake.ticket_create(actor=agent, draft=draft(customer_id=tw.desk.person.pk))
        dup = intake.ticket_create(actor=agent, draft=draft(customer_id=tw.desk.person.pk, subject="又打来了"))
        conversation.ticket_note(actor=agent, ticket=dup, body="重复来电")
        stranger = intake.ticket_create(actor=agent, draft=draft(caller_phone="13911112222"))
        with pytest.raises(ValidationError):
            merge.tickets_merge(actor=agent, target=target, duplicates=[stranger])
        merge.tickets_merge(actor=agent, target=target, duplicates=[dup], reason="同一件事")
        dup.refresh_from_db()
        assert dup.merged_into_id == target.pk and dup.status == TicketStatus.CLOSED
        from tickets.selectors.queues import ticket_full_timeline

        timeline = ticket_full_timeline(ticket=target)
        assert any(e.body == "重复来电" and e.from_number == dup.number for e in timeline)
        with pytest.raises(ValidationError):
            merge.tickets_merge(actor=agent, target=target, duplicates=[dup])
        with pytest.raises(ValidationError):
            conversation.ticket_reply(actor=agent, ticket=dup, body="x")
        new = merge.ticket_split(actor=agent, ticket=target, subject="另一件：改地址", category="address_change")
        assert new.split_from_id == target.pk and new.customer_id == tw.desk.person.pk
        assert "split" in kinds(target) and "split" in kinds(new)


def test_macro_fills_variables_masks_the_name_and_sets_the_status(desks):
    tw = desks.a
    agent = tw.user(Role.AGENT)
    with tenant_scope(tw.tenant, user=agent):
        ticket = intake.ticket_create(actor=agent, draft=draft(customer_id=tw.desk.person.pk))
        text = conversation.macro_render(macro=tw.desk.macro, ticket=ticket, actor=agent)
        assert ticket.number in text and "王小明" not in text and "王" in text
        ticket = conversation.macro_apply(actor=agent, ticket=ticket, macro=tw.desk.macro)
        assert ticket.status == TicketStatus.WAITING_CUSTOMER and ticket.sla_paused_at is not None
        tw.desk.macro.refresh_from_db()
        assert tw.desk.macro.usage_count == 1
    admin = tw.user(Role.TENANT_ADMIN)
    with tenant_scope(tw.tenant, user=admin):
        with pytest.raises(ValidationError) as exc:
            desk.macro_save(actor=admin, name="坏", body="{password}")
        assert "body" in exc.value.message_dict
        for lone in ("磶.}Vw", "价格{", "}"):  # a lone brace is a form error, not a server error
            with pytest.raises(ValidationError) as exc:
                desk.macro_save(actor=admin, name="括号", body=lone)
            assert "body" in exc.value.message_dict
        braces = desk.macro_save(actor=admin, name="括号", body="价格{{见附表}}，单号{ticket_number}")
        assert conversation.macro_render(macro=braces, ticket=ticket, actor=admin).startswith("价格{见附表}")


def test_reassigning_needs_a_reason(desks):
    tw = desks.a
    agent = tw.user(Role.AGENT)
    with tenant_scope(tw.tenant, user=agent):
        ticket = intake.ticket_create(actor=agent, draft=draft())
        other = next(a for a in tw.desk.agents if a.pk != ticket.assignee_id)
        with pytest.raises(ValidationError) as exc:
            core.ticket_assign(actor=agent, ticket=ticket, assignee=other)
        assert "note" in exc.value.message_dict
        ticket = core.ticket_assign(actor=agent, ticket=ticket, assignee=other, note="休假交接")
        assert ticket.assignee_id == other.pk


def test_attachments_checked_by_content_not_by_name(desks):
    tw = desks.a
    agent = tw.user(Role.AGENT)
    with tenant_scope(tw.tenant, user=agent):
        ticket = intake.ticket_create(actor=agent, draft=draft())
        png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 100
        attachment = conversation.attachment_add(actor=agent, ticket=ticket, name="破损.png", content=png)
        assert attachment.content_type == "image/png" and attachment.size == len(png)
        with pytest.raises(ValidationError) as exc:
            conversation.attachment_add(actor=agent, ticket=ticket, name="photo.png", content=b"MZ\x90\x00\x03" * 10)
        assert "file" in exc.value.message_dict
        assert ticket.attachments.count() == 1


def test_team_codes_are_ascii_slugs(desks):
    tw = desks.a
    admin = tw.user(Role.TENANT_ADMIN)
    with tenant_scope(tw.tenant, user=admin):
        for bad in ("ã", "Ã", "理赔", "a b", "", "x" * 31):
            with pytest.raises(ValidationError) as exc:
                desk.team_save(actor=admin, code=bad, name="组", assign_mode="round_robin")
            assert "code" in exc.value.message_dict
        assert desk.team_save(actor=admin, code="VIP_Claims-2", name="组", assign_mode="round_robin").code == \
            "vip_claims-2"
