"""Survey gateways: how a survey link reaches a person (email, SMS, WeChat).

`get_gateway(channel)` returns the backend named by the setting `CRM_SURVEY_GATEWAY`:

- "live": email through Django's mail backend (SMTP in production; the Message-ID is derived from
  the idempotency key so a provider or the receiving server can drop a duplicate), SMS and WeChat
  through an HTTP webhook (`CRM_SMS_WEBHOOK_URL`, `CRM_WECHAT_WEBHOOK_URL`): a JSON POST carrying
  an `Idempotency-Key` header and an HMAC-SHA256 signature of the body (`CRM_SURVEY_WEBHOOK_SECRET`).
  5xx answers, timeouts and connection errors are transient; 4xx answers are permanent.
- "file": one JSON file per message in `CRM_SURVEY_OUTBOX_DIR`, named by the idempotency key and
  made by an exclusive hard link, so a second send of the same survey writes nothing — the way a
  provider honouring idempotency keys behaves.
- "console": the message goes to the log (development without any gateway).

A gateway never touches the database: the caller records the outcome."""
from __future__ import annotations

import abc
import hashlib
import hmac
import json
import logging
import os
import smtplib
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass
from pathlib import Path

from django.conf import settings
from django.core.mail import EmailMessage

from .models import SurveyChannel

logger = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Courier-Signature"
IDEMPOTENCY_HEADER = "Idempotency-Key"


class GatewayError(Exception):
    """Base of the gateway failures."""


class GatewayTransientError(GatewayError):
    """The gateway could not take the message now; sending again later may work."""


class GatewayPermanentError(GatewayError):
    """The message can never be delivered as it is (no address, refused by the provider)."""


@dataclass(frozen=True)
class SurveyMessage:
    channel: str
    recipient: str       # email address, phone number (E.164) or WeChat open id
    subject: str
    body: str
    link: str
    tenant_code: str
    kind: str


class Gateway(abc.ABC):
    @abc.abstractmethod
    def send(self, message: SurveyMessage, *, idempotency_key: str) -> str:
        """Deliver `message`; returns a provider reference. Raises GatewayTransientError or
        GatewayPermanentError."""


def _require_recipient(message: SurveyMessage) -> None:
    if not (message.recipient or "").strip():
        raise GatewayPermanentError("no recipient address")


class FileGateway(Gateway):
    """Development and tests: one `<outbox>/<key>.json` per delivered message.

    The file appears whole and at most once: the message is written to a temporary file and
    hard-linked to its final name, which fails if that name exists (the key was delivered before,
    like a provider honouring idempotency keys). The link is the one step that delivers, so a
    process killed at any point leaves the message either delivered once or not at all."""

    def __init__(self, directory: str | os.PathLike, delay_ms: int = 0):
        self.directory = Path(directory)
        self.delay_ms = delay_ms

    def send(self, message: SurveyMessage, *, idempotency_key: str) -> str:
        _require_recipient(message)
        if self.delay_ms:
            time.sleep(self.delay_ms / 1000)
        path = self.directory / f"{idempotency_key}.json"
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            if path.exists():
                return str(path)  # delivered before: the key makes the second send a no-op
            fd, temporary = tempfile.mkstemp(dir=self.directory, prefix=".sending-", suffix=".tmp")
            try:
                with os.fdopen(fd, "w", encoding="utf-8") as handle:
                    json.dump({"idempotency_key": idempotency_key, **asdict(message)}, handle, ensure_ascii=False)
                try:
                    os.link(temporary, path)
                except FileExistsError:
                    pass  # another process delivered the same key a moment ago
            finally:
                os.unlink(temporary)
        except OSError as exc:
            raise GatewayTransientError(f"outbox not writable: {exc}") from exc
        return str(path)


class ConsoleGateway(Gateway):
    def send(self, message: SurveyMessage, *, idempotency_key: str) -> str:
        _require_recipient(message)
        logger.info("survey %s via %s to %s: %s", idempotency_key, message.channel, message.recipient, message.link)
        return f"console:{idempotency_key}"


class EmailGateway(Gateway):
    """Django's configured mail backend (SMTP in production)."""

    def send(self, message: SurveyMessage, *, idempotency_key: str) -> str:
        _require_recipient(message)
        message_id = f"<survey-{idempotency_key}@{settings.CRM_SURVEY_MESSAGE_ID_DOMAIN}>"
        email = EmailMessage(subject=message.subject, body=message.body, to=[message.recipient],
                             headers={"Message-ID": message_id})
        try:
            email.send(fail_silently=False)
        except smtplib.SMTPRecipientsRefused as exc:
            raise GatewayPermanentError(f"recipient refused: {exc}") from exc
        except smtplib.SMTPResponseException as exc:
            if 500 <= exc.smtp_code < 600:
                raise GatewayPermanentError(f"SMTP {exc.smtp_code}: {exc.smtp_error!r}") from exc
            raise GatewayTransientError(f"SMTP {exc.smtp_code}: {exc.smtp_error!r}") from exc
        except (smtplib.SMTPException, OSError) as exc:
            raise GatewayTransientError(f"SMTP unavailable: {exc}") from exc
        return message_id


class WebhookGateway(Gateway):
    """An SMS or WeChat gateway reached by a signed JSON POST."""

    def __init__(self, url: str, secret: str, timeout: float = 10.0):
        self.url = url
        self.secret = secret
        self.timeout = timeout

    def signature(self, body: bytes) -> str:
        return "sha256=" + hmac.new(self.secret.encode(), body, hashlib.sha256).hexdigest()

    def send(self, message: SurveyMessage, *, idempotency_key: str) -> str:
        _require_recipient(message)
        if not self.url:
            raise GatewayPermanentError(f"no webhook configured for {message.channel}")
        if not self.url.startswith(("https://", "http://")):
            raise GatewayPermanentError("the webhook URL must be http(s)")
        body = json.dumps({"idempotency_key": idempotency_key, **asdict(message)}, ensure_ascii=False).encode()
        headers = {"Content-Type": "application/json; charset=utf-8", IDEMPOTENCY_HEADER: idempotency_key,
                   SIGNATURE_HEADER: self.signature(body)}
        request = urllib.request.Request(self.url, data=body, method="POST", headers=headers)  # noqa: S310
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310 (http(s) checked above)
                return response.headers.get("X-Message-Id", "") or f"http:{response.status}"
        except urllib.error.HTTPError as exc:
            if exc.code >= 500 or exc.code == 429:
                raise GatewayTransientError(f"gateway answered {exc.code}") from exc
            raise GatewayPermanentError(f"gateway refused the message ({exc.code})") from exc
        except (urllib.error.URLError, TimeoutError, ConnectionError) as exc:
            raise GatewayTransientError(f"gateway unreachable: {exc}") from exc


def get_gateway(channel: str) -> Gateway:
    backend = settings.CRM_SURVEY_GATEWAY
    if backend == "file":
        return FileGateway(settings.CRM_SURVEY_OUTBOX_DIR, delay_ms=settings.CRM_SURVEY_FILE_DELAY_MS)
    if backend == "console":
        return ConsoleGateway()
    if backend != "live":
        raise ValueError(f"unknown CRM_SURVEY_GATEWAY {backend!r}")
    if channel == SurveyChannel.EMAIL:
        return EmailGateway()
    url = settings.CRM_SMS_WEBHOOK_URL if channel == SurveyChannel.SMS else settings.CRM_WECHAT_WEBHOOK_URL
    return WebhookGateway(url, settings.CRM_SURVEY_WEBHOOK_SECRET, timeout=settings.CRM_SURVEY_WEBHOOK_TIMEOUT)


__all__ = ["Gateway", "GatewayError", "GatewayPermanentError", "GatewayTransientError", "SurveyMessage",
           "get_gateway"]
