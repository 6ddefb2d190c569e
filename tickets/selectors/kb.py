"""Reads of the knowledge base: lists with filters and ranked search, one article with its
versions, and the suggestions of the ticket page.

Readers without `tickets.change_kbarticle` (agents, auditors …) see published articles only;
editors also see drafts and archived ones (`published_only=False`)."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from django.db.models import Count, Q, QuerySet
from django.shortcuts import get_object_or_404

from .. import kb_search as search_index
from .. import rules
from ..models import ArticleStatus, KbArticle, KbArticleVersion, KbCategory

SEARCH_MIN_SHARE = 0.6        # the search box: most of what was typed must occur
SUGGEST_MIN_SHARE = 0.34      # a ticket subject is free text: a third of its bigrams is enough
MAX_SEARCH_RESULTS = 200      # the list page ranks at most this many hits (10 pages)
SUGGEST_QUERY_CHARS = 120     # how much of a description a suggestion looks at


def may_edit(user) -> bool:
    return user.has_perm("tickets.change_kbarticle")


# --- categories ----------------------------------------------------------------------------------

def kb_category_list(*, with_counts: bool = False) -> QuerySet[KbCategory]:
    qs = KbCategory.objects.order_by("position", "name", "id")
    if with_counts:
        qs = qs.annotate(article_count=Count("articles"),
                         published_count=Count("articles", filter=Q(articles__status=ArticleStatus.PUBLISHED)))
    return qs


def kb_category_get(*, pk: int) -> KbCategory:
    return get_object_or_404(KbCategory, pk=pk)


# --- articles ------------------------------------------------------------------------------------

def _articles(*, published_only: bool) -> QuerySet[KbArticle]:
    qs = KbArticle.objects.select_related("category")
    return qs.filter(status=ArticleStatus.PUBLISHED) if published_only else qs


def kb_article_list(*, status: str = "", category_id: int | None = None,
                    published_only: bool = True) -> QuerySet[KbArticle]:
    """Articles newest first (no search), filtered."""
    qs = _articles(published_only=published_only).order_by("-updated_at", "-id")
    if status:
        qs = qs.filter(status=status)
    if category_id:
        qs = qs.filter(category_id=category_id)
    return qs


class RankedArticles(Sequence):
    """Search hits in rank order for a Paginator: the ranking is one query (ids and scores),
    each page one more (its articles, with `.score`)."""

    def __init__(self, ranked: list[tuple[int, float]], *, published_only: bool):
        self.ranked = ranked
        self.published_only = published_only

    def __len__(self) -> int:
        return len(self.ranked)

    def count(self) -> int:  # Paginator prefers count()
        return len(self.ranked)

    def __getitem__(self, index):
        if not isinstance(index, slice):
            return self[index:index + 1][0]
        part = self.ranked[index]
        found = _articles(published_only=self.published_only).in_bulk([pk for pk, _score in part])
        out = []
        for pk, score in part:
            if pk in found:
                found[pk].score = score
                out.append(found[pk])
        return out


def _substring_matches(query: str, *, status: str = "", category_id: int | None = None,
                       limit: int) -> list[tuple[int, float]]:
    """Unpublished articles (not in the index) whose title or text contains every query run;
    title matches first. Drafts and archived articles are few: a plain scan of them."""
    words = search_index.runs(query)
    if not words:
        return []
    qs = KbArticle.objects.exclude(status=ArticleStatus.PUBLISHED)
    if status:
        qs = qs.filter(status=status)
    if category_id:
        qs = qs.filter(category_id=category_id)
    for word in words:
        qs = qs.filter(Q(title__icontains=word) | Q(body__icontains=word))
    rows = qs.values_list("pk", "title")
    hits = [(pk, 2.0 if all(w in title.lower() for w in words) else 1.0) for pk, title in rows[:limit]]
    return sorted(hits, key=lambda h: -h[1])


def kb_article_search(query: str, *, status: str = "", category_id: int | None = None,
                      published_only: bool = True, max_results: int = MAX_SEARCH_RESULTS) -> RankedArticles:
    """The list page's search: ranked published hits, then (editors) unpublished articles that
    contain the query. A status filter other than "published" skips the index."""
    ranked: list[tuple[int, float]] = []
    if status in ("", ArticleStatus.PUBLISHED):
        ranked = search_index.search(query, limit=max_results, min_share=SEARCH_MIN_SHARE, category_id=category_id)
    if not published_only and status != ArticleStatus.PUBLISHED:
        ranked += _substring_matches(query, status=status, category_id=category_id,
                                     limit=max(0, max_results - len(ranked)))
    return RankedArticles(ranked, published_only=published_only)


def kb_search(query: str, *, limit: int = 10, published_only: bool = True,
              category_id: int | None = None) -> list[KbArticle]:
    """The `limit` best articles for `query`, best first, each with `.score`. With
    `published_only=False` unpublished articles containing the query follow the ranked ones."""
    return list(kb_article_search(query, category_id=category_id, published_only=published_only,
                                  max_results=limit)[:limit])


def kb_suggestions_for(*, subject: str, description: str = "", category: str = "",
                       limit: int | None = None) -> list[KbArticle]:
    """Published articles for a ticket: ranked by the subject (a third of its bigrams must occur),
    articles written for the ticket's category boosted; with no hit for the subject the start of
    the description is tried, and with none at all the category's most used articles."""
    if limit is None:
        limit = rules.KB_SUGGESTIONS.value()
    if limit <= 0:
        return []
    ranked = search_index.search(subject, limit=limit, min_share=SUGGEST_MIN_SHARE, ticket_category=category)
    if not ranked and description:
        ranked = search_index.search(description[:SUGGEST_QUERY_CHARS], limit=limit, min_share=SUGGEST_MIN_SHARE,
                                  ticket_category=category)
    if ranked:
        return list(RankedArticles(ranked, published_only=True)[:limit])
    if category:
        return list(_articles(published_only=True).filter(ticket_category=category)
                    .order_by("-usage_count", "-updated_at", "-id")[:limit])
    return []


def kb_article_get(*, pk: int, published_only: bool = True) -> KbArticle:
    """One article (404 for another tenant's, and for an unpublished one when `published_only`)."""
    return get_object_or_404(_articles(published_only=published_only).select_related("created_by"), pk=pk)


@dataclass(frozen=True)
class LatestText:
    version: int
    title: str
    body: str
    pending: bool   # a published article with a newer, unpublished version


def kb_article_latest(article: KbArticle) -> LatestText:
    """The newest saved text (what the editor edits), which for a published article with a
    pending draft is not the live text."""
    pending = article.status == ArticleStatus.PUBLISHED and article.published_version != article.version
    if not pending:
        return LatestText(article.version, article.title, article.body, False)
    row = KbArticleVersion.objects.get(article_id=article.pk, version=article.version)
    return LatestText(row.version, row.title, row.body, True)


def kb_article_versions(*, article_id: int) -> QuerySet[KbArticleVersion]:
    """The article's versions, newest first (text included: a page shows them on demand)."""
    return (KbArticleVersion.objects.filter(article_id=article_id).select_related("created_by")
            .order_by("-version"))


def kb_version_get(*, article_id: int, version: int) -> KbArticleVersion:
    return get_object_or_404(KbArticleVersion.objects.select_related("created_by"), article_id=article_id,
                             version=version)
