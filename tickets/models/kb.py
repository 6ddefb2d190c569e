"""The knowledge base: articles per tenant with categories, versions and a publish state."""
from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from tenancy.models import TenantScopedModel

from .tickets import TicketCategory


class KbCategory(TenantScopedModel):
    name = models.CharField(_("name"), max_length=80)
    position = models.PositiveIntegerField(_("order"), default=100)

    class Meta:
        verbose_name = _("knowledge-base category")
        verbose_name_plural = _("knowledge-base categories")
        ordering = ["position", "name", "id"]
        constraints = [models.UniqueConstraint(fields=["tenant", "name"], name="kbcategory_name_unique")]

    def __str__(self) -> str:
        return self.name


class ArticleStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    PUBLISHED = "published", _("Published")
    ARCHIVED = "archived", _("Archived")


class KbArticle(TenantScopedModel):
    """The current state of an article; every saved text is also a `KbArticleVersion`."""

    category = models.ForeignKey(KbCategory, on_delete=models.PROTECT, null=True, blank=True,
                                 related_name="articles", verbose_name=_("category"))
    ticket_category = models.CharField(_("helps with tickets of"), max_length=20, choices=TicketCategory.choices,
                                       blank=True)
    title = models.CharField(_("title"), max_length=200)
    body = models.TextField(_("text"))
    status = models.CharField(_("status"), max_length=10, choices=ArticleStatus.choices, default=ArticleStatus.DRAFT)
    version = models.PositiveIntegerField(_("version"), default=1, editable=False)
    published_version = models.PositiveIntegerField(null=True, blank=True, editable=False)
    usage_count = models.PositiveIntegerField(_("used in replies"), default=0, editable=False)
    view_count = models.PositiveIntegerField(_("views"), default=0, editable=False)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                   related_name="+", editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(default=timezone.now, editable=False)
    published_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("knowledge-base article")
        verbose_name_plural = _("knowledge-base articles")
        ordering = ["-updated_at", "-id"]
        indexes = [models.Index(fields=["tenant", "status", "-updated_at"], name="kbarticle_list")]

    def __str__(self) -> str:
        return self.title


class KbArticleVersion(TenantScopedModel):
    """One saved text of an article. Rows never change."""

    append_only = True

    article = models.ForeignKey(KbArticle, on_delete=models.CASCADE, related_name="versions")
    version = models.PositiveIntegerField()
    title = models.CharField(max_length=200)
    body = models.TextField()
    note = models.CharField(_("change note"), max_length=200, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                   related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-version"]
        constraints = [models.UniqueConstraint(fields=["tenant", "article", "version"], name="kbversion_once")]

    def __str__(self) -> str:
        return f"{self.article_id} v{self.version}"


class KbArticleGram(TenantScopedModel):
    """A character unigram or bigram of a published article with how often it occurs in the
    title and the body — the search index (see tickets.kb_search). Rows per gram with a b-tree
    index because under row-level security only LEAKPROOF operators (text `=`) use an index."""

    article = models.ForeignKey(KbArticle, on_delete=models.CASCADE, related_name="+")
    gram = models.CharField(max_length=4)
    title_hits = models.PositiveSmallIntegerField(default=0)
    body_hits = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["tenant", "article", "gram"], name="kbgram_once")]
        indexes = [models.Index(fields=["tenant", "gram", "article"], name="kbgram_lookup",
                                include=["title_hits", "body_hits"])]

    def __str__(self) -> str:
        return self.gram


__all__ = ["ArticleStatus", "KbArticle", "KbArticleGram", "KbArticleVersion", "KbCategory"]
