"""Channel adapters against real endpoints: the webhook gateway is a real HTTP server on the
loopback (signature checked, 5xx retried, 4xx failed), email goes through Django's mail backend,
and a delivery recorded by the service marks the reply's outbound message."""
from __future__ import annotations

import hashlib
import hmac
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.core import mail

from tenancy.models import Role
from tenancy.scoping import tenant_scope
from tickets.channels import ConsoleAdapter, EmailAdapter, OutgoingText, TransientDeliveryError, WebhookAdapter
from tickets.models import DeliveryStatus, OutboundMessage
from tickets.services import conversation, intake

SECRET = "gateway-secret"


class Gateway:
    """A tiny SMS/WeChat gateway: answers with the status queued in `answers` (default 200)."""

    def __init__(self):
        self.received: list[tuple[dict, str, dict]] = []
        self.answers: list[int] = []
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers["Content-Length"]))
                gateway.received.append((json.loads(body), self.headers["X-CRM-Signature"],
                                         {"raw": body, "key": self.headers["Idempotency-Key"]}))
                status = gateway.answers.pop(0) if gateway.answers else 200
                reply = json.dumps({"id": f"gw-{len(gateway.received)}"}).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, *args):
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/send"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def gateway(settings):
    gw = Gateway()
    settings.CRM_MESSAGE_WEBHOOK_URL = gw.url
    settings.CRM_MESSAGE_WEBHOOK_SECRET = SECRET
    yield gw
    gw.close()


def text(**kw) -> OutgoingText:
    values = dict(tenant_code="alpha", ticket_number="T2026-000001", channel="wechat", recipient="wx-open-id-1",
                  subject="包裹破损", body="您好，已为您登记理赔。", message_id=7)
    values.update(kw)
    return OutgoingText(**values)


def test_webhook_posts_signed_json_and_keeps_the_gateway_reference(gateway):
    result = WebhookAdapter().send(text())
    assert (result.status, result.provider_ref) == ("sent", "gw-1")
    payload, signature, extra = gateway.received[0]
    assert payload["to"] == "wx-open-id-1" and payload["text"] == "您好，已为您登记理赔。"
    assert payload["ticket"] == "T2026-000001" and payload["channel"] == "wechat"
    assert signature == hmac.new(SECRET.encode(), extra["raw"], hashlib.sha256).hexdigest()
    assert extra["key"] == "alpha-7"


def test_webhook_5xx_is_transient_and_4xx_is_final(gateway):
    gateway.answers[:] = [503, 400]
    with pytest.raises(TransientDeliveryError):
        WebhookAdapter().send(text())
    refused = WebhookAdapter().send(text())
    assert refused.status == "failed" and "400" in refused.error


def test_webhook_without_a_gateway_fails_visibly(settings):
    settings.CRM_MESSAGE_WEBHOOK_URL = ""
    result = WebhookAdapter().send(text())
    assert result.status == "failed" and "CRM_MESSAGE_WEBHOOK_URL" in result.error


def test_unreachable_gateway_is_transient(settings):
    settings.CRM_MESSAGE_WEBHOOK_URL = "http://127.0.0.1:9/nothing-listens-here"
    with pytest.raises(TransientDeliveryError):
        WebhookAdapter().send(text())


def test_console_adapter_writes_the_message_to_the_log(caplog):
    with caplog.at_level("INFO", logger="tickets.channels"):
        result = ConsoleAdapter().send(text())
    assert (result.status, result.provider_ref) == ("sent", "console-7")
    assert "wx-open-id-1" in caplog.text and "您好，已为您登记理赔。" in caplog.text


def test_email_adapter_sends_through_the_mail_backend():
    result = EmailAdapter().send(text(channel="email", recipient="li@example.com"))
    assert result.status == "sent"
    assert mail.outbox[-1].to == ["li@example.com"] and "T2026-000001" in mail.outbox[-1].subject
    assert EmailAdapter().send(text(channel="email", recipient="13800138000")).status == "failed"


def test_wechat_reply_is_delivered_once_through_the_gateway(desks, gateway):
    tw = desks.a
    agent = tw.user(Role.AGENT)
    with tenant_scope(tw.tenant, user=agent):
        ticket = intake.ticket_create(actor=None, draft=intake.TicketDraft(
            channel="wechat", category="complaint", subject="派件员态度差", caller_phone="13900002222",
            external_ref="wx-open-id-9"))
        ack = OutboundMessage.objects.get(ticket=ticket)
        assert ack.channel == "wechat" and str(ack.recipient) == "wx-open-id-9"
        gateway.answers[:] = [200]
        assert conversation.outbound_deliver(message_id=ack.pk) == DeliveryStatus.SENT
        assert conversation.outbound_deliver(message_id=ack.pk) == DeliveryStatus.SENT  # a replay sends nothing
        ack.refresh_from_db()
        assert ack.provider_ref == "gw-1" and ack.attempts == 1 and ack.sent_at is not None
        assert len(gateway.received) == 1 and gateway.received[0][0]["to"] == "wx-open-id-9"
