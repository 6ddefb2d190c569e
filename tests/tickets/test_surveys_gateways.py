"""The live survey gateways against real local servers: an HTTP webhook (idempotency header, HMAC
signature, 5xx transient, 4xx permanent) and an SMTP server (aiosmtpd)."""
from __future__ import annotations

import hashlib
import hmac
import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tickets.gateways import (
    GatewayPermanentError,
    GatewayTransientError,
    SurveyMessage,
    WebhookGateway,
    get_gateway,
)

SECRET = "webhook-test-secret"


def message(channel="sms", recipient="+8613900000001") -> SurveyMessage:
    return SurveyMessage(channel=channel, recipient=recipient, subject="满意度", body="请评分 https://x/s/t/",
                         link="https://x/s/t/", tenant_code="alpha", kind="csat")


@pytest.fixture
def webhook():
    """A local HTTP server answering each POST with the next status in `answers` (default 200)."""
    received, answers = [], []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 (http.server's name)
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.append({"headers": dict(self.headers), "body": body})
            status = answers.pop(0) if answers else 200
            self.send_response(status)
            self.send_header("X-Message-Id", f"m{len(received)}")
            self.end_headers()

        def log_message(self, *args):
            return None

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield {"url": f"http://127.0.0.1:{server.server_port}/sms", "received": received, "answers": answers}
    server.shutdown()
    server.server_close()


def test_webhook_sends_idempotency_key_and_signature(webhook, settings):
    settings.CRM_SURVEY_GATEWAY = "live"
    settings.CRM_SMS_WEBHOOK_URL = webhook["url"]
    settings.CRM_SURVEY_WEBHOOK_SECRET = SECRET
    gateway = get_gateway("sms")
    assert isinstance(gateway, WebhookGateway)
    assert gateway.send(message(), idempotency_key="key-1") == "m1"
    request = webhook["received"][0]
    assert request["headers"]["Idempotency-Key"] == "key-1"
    expected = "sha256=" + hmac.new(SECRET.encode(), request["body"], hashlib.sha256).hexdigest()
    assert request["headers"]["X-Courier-Signature"] == expected
    payload = json.loads(request["body"])
    assert payload["recipient"] == "+8613900000001" and payload["idempotency_key"] == "key-1"


def test_webhook_5xx_transient_4xx_permanent(webhook):
    gateway = WebhookGateway(webhook["url"], SECRET, timeout=5)
    webhook["answers"].extend([503, 400, 429])
    with pytest.raises(GatewayTransientError):
        gateway.send(message(), idempotency_key="k")
    with pytest.raises(GatewayPermanentError):
        gateway.send(message(), idempotency_key="k")
    with pytest.raises(GatewayTransientError):
        gateway.send(message(), idempotency_key="k")


def test_webhook_unreachable_is_transient_and_missing_address_permanent():
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    gateway = WebhookGateway(f"http://127.0.0.1:{port}/", SECRET, timeout=2)
    with pytest.raises(GatewayTransientError):
        gateway.send(message(), idempotency_key="k")
    with pytest.raises(GatewayPermanentError):
        gateway.send(message(recipient=""), idempotency_key="k")


@pytest.fixture
def smtp_server():
    from aiosmtpd.controller import Controller

    class Handler:
        def __init__(self):
            self.messages = []

        async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802
            if address.startswith("nobody@"):
                return "550 no such user"
            envelope.rcpt_tos.append(address)
            return "250 OK"

        async def handle_DATA(self, server, session, envelope):  # noqa: N802
            self.messages.append(envelope)
            return "250 Message accepted"

    handler = Handler()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    yield {"port": port, "handler": handler}
    controller.stop()


def test_smtp_email_with_message_id_from_key(smtp_server, settings):
    settings.CRM_SURVEY_GATEWAY = "live"
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_USE_TLS = "127.0.0.1", smtp_server["port"], False
    reference = get_gateway("email").send(message("email", "person@example.com"), idempotency_key="abc-123")
    assert reference.startswith("<survey-abc-123@")
    [envelope] = smtp_server["handler"].messages
    assert envelope.rcpt_tos == ["person@example.com"]
    assert f"Message-ID: {reference}" in envelope.content.decode()
    with pytest.raises(GatewayPermanentError):
        get_gateway("email").send(message("email", "nobody@example.com"), idempotency_key="x")


def test_smtp_server_down_is_transient(settings):
    settings.CRM_SURVEY_GATEWAY = "live"
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", port, 2
    with pytest.raises(GatewayTransientError):
        get_gateway("email").send(message("email", "person@example.com"), idempotency_key="y")
