"""Channel adapters: how a public reply reaches the customer.

An adapter takes an `OutgoingText` and returns a `DeliveryResult`; it must not touch the
database (the caller records the outcome). Which adapter serves which channel is configured in
settings `CRM_CHANNEL_ADAPTERS` ({channel: dotted path}), so a real WeChat or mail gateway is a
new class and one setting. Built in:

- `EmailAdapter` — Django's mail backend (SMTP in production, console/file in development);
- `WebhookAdapter` — an HTTP POST of JSON, signed with HMAC-SHA256 over the body, to the
  gateway URL in `CRM_MESSAGE_WEBHOOK_URL` (an SMS or WeChat service account gateway);
- `RecordOnlyAdapter` — the phone channel: the agent says it on the call; the reply is recorded;
- `ConsoleAdapter` — development without a gateway (`make run`): the message is written to the
  log and counts as sent, like Django's console mail backend.
Transient failures raise `TransientDeliveryError` (the task retries with backoff); permanent ones
return a failed result."""
from __future__ import annotations

import abc
import hashlib
import hmac
import json
import logging
import urllib.error
import urllib.request
from dataclasses import dataclass
from functools import cache

from django.conf import settings
from django.core.mail import EmailMessage
from django.utils.module_loading import import_string

logger = logging.getLogger(__name__)


class TransientDeliveryError(Exception):
    """The gateway could not take the message now; try again later."""


@dataclass(frozen=True)
class OutgoingText:
    tenant_code: str
    ticket_number: str
    channel: str
    recipient: str          # email address, phone number or WeChat open id
    subject: str
    body: str
    message_id: int


@dataclass(frozen=True)
class DeliveryResult:
    status: str             # "sent" | "failed" | "recorded"
    provider_ref: str = ""
    error: str = ""


class ChannelAdapter(abc.ABC):
    """Base of the adapters; `send` is the one method."""

    needs_recipient = True

    @abc.abstractmethod
    def send(self, message: OutgoingText) -> DeliveryResult:
        """Deliver one message; raise TransientDeliveryError when a later try may succeed."""


class RecordOnlyAdapter(ChannelAdapter):
    needs_recipient = False

    def send(self, message: OutgoingText) -> DeliveryResult:
        return DeliveryResult("recorded")


class ConsoleAdapter(ChannelAdapter):
    def send(self, message: OutgoingText) -> DeliveryResult:
        logger.info("%s message %s to %s for %s: %s", message.channel, message.message_id, message.recipient,
                    message.ticket_number, message.body)
        return DeliveryResult("sent", provider_ref=f"console-{message.message_id}")


class EmailAdapter(ChannelAdapter):
    def send(self, message: OutgoingText) -> DeliveryResult:
        if "@" not in message.recipient:
            return DeliveryResult("failed", error="no email address")
        email = EmailMessage(subject=f"[{message.ticket_number}] {message.subject}", body=message.body,
                             to=[message.recipient],
                             headers={"X-CRM-Ticket": message.ticket_number, "X-CRM-Message": str(message.message_id)})
        try:
            email.send(fail_silently=False)
        except OSError as exc:  # SMTP connection problems are worth another try
            raise TransientDeliveryError(str(exc)) from exc
        return DeliveryResult("sent", provider_ref=f"mail-{message.message_id}")


class WebhookAdapter(ChannelAdapter):
    timeout = 10

    def send(self, message: OutgoingText) -> DeliveryResult:
        url = getattr(settings, "CRM_MESSAGE_WEBHOOK_URL", "")
        if not url:
            return DeliveryResult("failed", error="no gateway configured (CRM_MESSAGE_WEBHOOK_URL)")
        body = json.dumps({"tenant": message.tenant_code, "ticket": message.ticket_number,
                           "channel": message.channel, "to": message.recipient, "subject": message.subject,
                           "text": message.body, "message_id": message.message_id},
                          ensure_ascii=False).encode()
        secret = getattr(settings, "CRM_MESSAGE_WEBHOOK_SECRET", "").encode()
        request = urllib.request.Request(url, data=body, method="POST", headers={  # noqa: S310 - configured URL
            "Content-Type": "application/json; charset=utf-8",
            "X-CRM-Signature": hmac.new(secret, body, hashlib.sha256).hexdigest(),
            "Idempotency-Key": f"{message.tenant_code}-{message.message_id}",
        })
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
                reply = response.read(2000).decode("utf-8", "replace")
        except urllib.error.HTTPError as exc:
            if exc.code >= 500 or exc.code == 429:
                raise TransientDeliveryError(f"gateway answered {exc.code}") from exc
            return DeliveryResult("failed", error=f"gateway refused: {exc.code}")
        except (urllib.error.URLError, TimeoutError, OSError) as exc:
            raise TransientDeliveryError(str(exc)) from exc
        try:
            ref = str(json.loads(reply).get("id", ""))[:120]
        except (ValueError, AttributeError):
            ref = ""
        return DeliveryResult("sent", provider_ref=ref)


DEFAULT_ADAPTERS = {
    "phone": "tickets.channels.RecordOnlyAdapter",
    "system": "tickets.channels.RecordOnlyAdapter",
    "email": "tickets.channels.EmailAdapter",
    "web": "tickets.channels.EmailAdapter",
    "wechat": "tickets.channels.WebhookAdapter",
    "app": "tickets.channels.WebhookAdapter",
    "api": "tickets.channels.WebhookAdapter",
    "sms": "tickets.channels.WebhookAdapter",
}


@cache
def adapter_for(channel: str) -> ChannelAdapter:
    paths = {**DEFAULT_ADAPTERS, **getattr(settings, "CRM_CHANNEL_ADAPTERS", {})}
    return import_string(paths.get(channel, paths["phone"]))()
