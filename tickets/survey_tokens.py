"""Signed links of the public survey page (/s/<token>/).

A token carries the tenant id and the survey's public id (never the row id), signed with the
project's secret and a salt of its own so no other signed value of the project can pass for one.
It is valid for SURVEY_LINK_VALID_DAYS of the survey's tenant; the page also checks the survey's
`expires_at`, so shortening the rule or expiring a survey takes effect on links already sent."""
from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

from django.core import signing

SALT = "tickets.survey-link"


class SurveyLinkInvalid(Exception):
    """The token was not made by us (tampered, truncated, another salt)."""


class SurveyLinkExpired(Exception):
    """The token is genuine but older than the link validity."""


@dataclass(frozen=True)
class SurveyLink:
    tenant_id: int
    public_id: uuid.UUID


def survey_token(*, tenant_id: int, public_id: uuid.UUID) -> str:
    return signing.dumps({"t": tenant_id, "p": str(public_id)}, salt=SALT, compress=True)


def survey_token_read(token: str, *, max_age: dt.timedelta | None = None) -> SurveyLink:
    """Decode a token; with `max_age` also refuse an old one. Raises SurveyLinkInvalid/Expired."""
    try:
        data = signing.loads(token, salt=SALT, max_age=max_age)
    except signing.SignatureExpired as exc:
        raise SurveyLinkExpired(str(exc)) from exc
    except signing.BadSignature as exc:
        raise SurveyLinkInvalid(str(exc)) from exc
    try:
        return SurveyLink(tenant_id=int(data["t"]), public_id=uuid.UUID(data["p"]))
    except (KeyError, TypeError, ValueError) as exc:
        raise SurveyLinkInvalid("malformed survey link") from exc
