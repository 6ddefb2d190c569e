"""Writes of the knowledge base: articles with versions, publishing, categories, usage counts.

Versions. Every save that changes an article's title or text appends a `KbArticleVersion`
(numbered 1, 2, …; rows never change). `KbArticle.version` is the newest version's number.

The published text stays live. `KbArticle.title` / `.body` are what readers see: for a
published article the text of `published_version`; for a draft (never published) or an archived
article its newest text. Editing a published article saves a new version as a pending draft —
agents, search and suggestions keep the published text until an editor publishes again
(`KbArticle.version != published_version` tells a pending draft; its text is in the version row,
see selectors.kb.kb_article_latest). Restoring an old version is an edit with that version's
text (a new version), so it is reviewed and published like any other edit. Archiving takes an
article out of search; publishing it again brings it back.

Search index (tickets.kb_search): only published text is indexed, rewritten in the same
transaction as the publish and dropped on archive."""
from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from tenancy.models import User
from tenancy.services import require_perm

from .. import kb_search
from ..models import ArticleStatus, KbArticle, KbArticleVersion, KbCategory, TicketCategory

TITLE_MAX = 200
BODY_MAX = 50_000
NOTE_MAX = 200
CATEGORY_NAME_MAX = 80
POSITION_MAX = 100_000
ADD_PERM = "tickets.add_kbarticle"
CHANGE_PERM = "tickets.change_kbarticle"
UNSET = object()


# --- checks --------------------------------------------------------------------------------------

def _clean_title(title) -> str:
    title = " ".join(str(title or "").split())
    if not title:
        raise ValidationError({"title": _("Enter the article's title.")})
    if len(title) > TITLE_MAX:
        raise ValidationError({"title": _("At most %(n)d characters.") % {"n": TITLE_MAX}})
    return title


def _clean_body(body) -> str:
    body = str(body or "").replace("\r\n", "\n").strip()
    if not body:
        raise ValidationError({"body": _("Enter the article's text.")})
    if len(body) > BODY_MAX:
        raise ValidationError({"body": _("At most %(n)d characters.") % {"n": BODY_MAX}})
    return body


def _clean_note(note) -> str:
    note = " ".join(str(note or "").split())
    if len(note) > NOTE_MAX:
        raise ValidationError({"note": _("At most %(n)d characters.") % {"n": NOTE_MAX}})
    return note


def _clean_ticket_category(value) -> str:
    value = value or ""
    if value and value not in TicketCategory.values:
        raise ValidationError({"ticket_category": _("Choose one of the listed values.")})
    return value


def _clean_category(category) -> KbCategory | None:
    if category is None:
        return None
    if not isinstance(category, KbCategory) or category.pk is None:
        raise ValidationError({"category": _("Choose one of the listed values.")})
    return category


def _collect(*checks) -> list:
    """Run each (callable, value) check; raise one ValidationError naming every bad field."""
    errors, values = {}, []
    for check, value in checks:
        try:
            values.append(check(value))
        except ValidationError as exc:
            for field, messages in exc.message_dict.items():
                errors.setdefault(field, []).extend(messages)
            values.append(None)
    if errors:
        raise ValidationError(errors)
    return values


def _locked(article: KbArticle) -> KbArticle:
    return KbArticle.objects.select_for_update().get(pk=article.pk)


def _add_version(article: KbArticle, *, title: str, body: str, note: str, actor: User | None) -> KbArticleVersion:
    article.version += 1
    return KbArticleVersion.objects.create(article=article, version=article.version, title=title, body=body,
                                           note=note, created_by=actor)


def _publish_locked(article: KbArticle, *, now) -> None:
    """Make the newest version the live text (the article row is locked by the caller)."""
    latest = KbArticleVersion.objects.get(article_id=article.pk, version=article.version)
    article.title, article.body = latest.title, latest.body
    article.status = ArticleStatus.PUBLISHED
    article.published_version = latest.version
    article.published_at = now
    article.updated_at = now
    article.save()
    kb_search.index_replace([kb_search.IndexedText(article.pk, article.title, article.body)])


# --- articles ------------------------------------------------------------------------------------

def article_create(*, actor: User | None, title: str, body: str, category: KbCategory | None = None,
                   ticket_category: str = "", note: str = "", publish: bool = False) -> KbArticle:
    """A new article (version 1), a draft unless `publish`. `actor=None` only for system seeding."""
    if actor is not None:
        require_perm(actor, ADD_PERM)
    title, body, note, ticket_category, category = _collect(
        (_clean_title, title), (_clean_body, body), (_clean_note, note),
        (_clean_ticket_category, ticket_category), (_clean_category, category))
    now = timezone.now()
    with transaction.atomic():
        article = KbArticle(category=category, ticket_category=ticket_category, title=title, body=body,
                            status=ArticleStatus.DRAFT, version=1, created_by=actor, created_at=now, updated_at=now)
        article.save()
        KbArticleVersion.objects.create(article=article, version=1, title=title, body=body, note=note,
                                        created_by=actor)
        if publish:
            _publish_locked(article, now=now)
    return article


def article_update(*, actor: User, article: KbArticle, title=UNSET, body=UNSET, category=UNSET,
                   ticket_category=UNSET, note: str = "", publish: bool = False) -> KbArticle:
    """Change an article; only the arguments passed change. A new title or text is a new version
    (the published text stays live until `publish` or article_publish); the category and the
    ticket category are settings of the article and apply at once."""
    require_perm(actor, CHANGE_PERM)
    checks = [(_clean_note, note)]
    names = ["note"]
    for name, value, check in (("title", title, _clean_title), ("body", body, _clean_body),
                               ("category", category, _clean_category),
                               ("ticket_category", ticket_category, _clean_ticket_category)):
        if value is not UNSET:
            checks.append((check, value))
            names.append(name)
    cleaned = dict(zip(names, _collect(*checks), strict=True))
    now = timezone.now()
    with transaction.atomic():
        locked = _locked(article)
        latest = KbArticleVersion.objects.get(article_id=locked.pk, version=locked.version)
        new_title = cleaned.get("title", latest.title)
        new_body = cleaned.get("body", latest.body)
        changed = False
        if (new_title, new_body) != (latest.title, latest.body):
            _add_version(locked, title=new_title, body=new_body, note=cleaned["note"], actor=actor)
            if locked.status != ArticleStatus.PUBLISHED:
                locked.title, locked.body = new_title, new_body
            changed = True
        for name in ("category", "ticket_category"):
            if name in cleaned and getattr(locked, name) != cleaned[name]:
                setattr(locked, name, cleaned[name])
                changed = True
        if publish and (locked.status != ArticleStatus.PUBLISHED or locked.published_version != locked.version):
            _publish_locked(locked, now=now)
        elif changed:
            locked.updated_at = now
            locked.save()
    return locked


def article_publish(*, actor: User, article: KbArticle) -> KbArticle:
    """Make the newest version the live text (also brings an archived article back)."""
    require_perm(actor, CHANGE_PERM)
    with transaction.atomic():
        locked = _locked(article)
        if locked.status == ArticleStatus.PUBLISHED and locked.published_version == locked.version:
            raise ValidationError({"status": _("The newest version is already published.")})
        _publish_locked(locked, now=timezone.now())
    return locked


def article_archive(*, actor: User, article: KbArticle) -> KbArticle:
    """Take an article out of use: no longer found, suggested or shown to agents."""
    require_perm(actor, CHANGE_PERM)
    with transaction.atomic():
        locked = _locked(article)
        if locked.status == ArticleStatus.ARCHIVED:
            raise ValidationError({"status": _("The article is already archived.")})
        locked.status = ArticleStatus.ARCHIVED
        locked.updated_at = timezone.now()
        locked.save(update_fields=["status", "updated_at"])
        kb_search.index_remove([locked.pk])
    return locked


def article_restore(*, actor: User, article: KbArticle, version: int, note: str = "",
                    publish: bool = False) -> KbArticle:
    """Save an earlier version's text as the newest version (a published article keeps its live
    text until it is published, unless `publish`)."""
    require_perm(actor, CHANGE_PERM)
    try:
        number = int(version)
    except (TypeError, ValueError):
        raise ValidationError({"version": _("Choose a version of this article.")}) from None
    source = KbArticleVersion.objects.filter(article_id=article.pk, version=number).first()
    if source is None:
        raise ValidationError({"version": _("Choose a version of this article.")})
    if number == article.version:
        raise ValidationError({"version": _("This is already the newest version.")})
    note = _clean_note(note) or _("Restored from version %(n)d") % {"n": number}
    return article_update(actor=actor, article=article, title=source.title, body=source.body, note=note[:NOTE_MAX],
                          publish=publish)


def kb_article_used(*, article_id: int) -> bool:
    """An agent inserted the published article into a reply: count it (one atomic UPDATE).
    Returns False when there is no such published article in this tenant."""
    return bool(KbArticle.objects.filter(pk=article_id, status=ArticleStatus.PUBLISHED)
                .update(usage_count=F("usage_count") + 1))


def kb_article_viewed(*, article_id: int) -> None:
    """Somebody opened the article's page (one atomic UPDATE, no row lock held)."""
    KbArticle.objects.filter(pk=article_id).update(view_count=F("view_count") + 1)


# --- categories ----------------------------------------------------------------------------------

def _clean_category_name(name) -> str:
    name = " ".join(str(name or "").split())
    if not name:
        raise ValidationError({"name": _("Enter the category's name.")})
    if len(name) > CATEGORY_NAME_MAX:
        raise ValidationError({"name": _("At most %(n)d characters.") % {"n": CATEGORY_NAME_MAX}})
    return name


def _clean_position(position) -> int:
    try:
        value = int(position)
    except (TypeError, ValueError):
        raise ValidationError({"position": _("Enter a whole number.")}) from None
    if not 0 <= value <= POSITION_MAX:
        raise ValidationError({"position": _("Enter a number from 0 to %(max)d.") % {"max": POSITION_MAX}})
    return value


def _name_taken(name: str, exclude_pk: int | None = None) -> bool:
    qs = KbCategory.objects.filter(name__iexact=name)
    if exclude_pk:
        qs = qs.exclude(pk=exclude_pk)
    return qs.exists()


def category_create(*, actor: User | None, name: str, position: int = 100) -> KbCategory:
    if actor is not None:
        require_perm(actor, CHANGE_PERM)
    name, position = _collect((_clean_category_name, name), (_clean_position, position))
    if _name_taken(name):
        raise ValidationError({"name": _("A category with this name exists.")})
    try:
        with transaction.atomic():
            return KbCategory.objects.create(name=name, position=position)
    except IntegrityError as exc:
        raise ValidationError({"name": _("A category with this name exists.")}) from exc


def category_update(*, actor: User, category: KbCategory, name=UNSET, position=UNSET) -> KbCategory:
    require_perm(actor, CHANGE_PERM)
    checks, names = [], []
    if name is not UNSET:
        checks.append((_clean_category_name, name))
        names.append("name")
    if position is not UNSET:
        checks.append((_clean_position, position))
        names.append("position")
    cleaned = dict(zip(names, _collect(*checks), strict=True))
    if "name" in cleaned and _name_taken(cleaned["name"], exclude_pk=category.pk):
        raise ValidationError({"name": _("A category with this name exists.")})
    try:
        with transaction.atomic():
            locked = KbCategory.objects.select_for_update().get(pk=category.pk)
            for field, value in cleaned.items():
                setattr(locked, field, value)
            locked.save()
    except IntegrityError as exc:
        raise ValidationError({"name": _("A category with this name exists.")}) from exc
    return locked


def category_delete(*, actor: User, category: KbCategory) -> None:
    """Delete an empty category; one that still has articles (archived ones too) is refused."""
    require_perm(actor, CHANGE_PERM)
    with transaction.atomic():
        locked = KbCategory.objects.select_for_update().get(pk=category.pk)
        count = KbArticle.objects.filter(category_id=locked.pk).count()
        if count:
            raise ValidationError({"category": _(
                "This category still has %(n)d article(s), archived ones included: move them to another "
                "category first.") % {"n": count}})
        locked.delete()
