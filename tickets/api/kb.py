"""Knowledge-base API: articles (ranked search, versions, publish / archive / restore) and their
categories, plus the suggestions for a ticket. Everyone who reads tickets reads published
articles (`tickets.view_kbarticle`); editors (`tickets.change_kbarticle`) also see drafts and
archived articles and write. Thin: parse → service / selector → serialize; a refused field is a
400 naming it, another tenant's id is 404 (path) or "does not exist" (payload)."""
from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_field, extend_schema_view
from rest_framework import exceptions, mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.pagination import PageNumberPagination
from rest_framework.response import Response

from tenancy.api.base import MAX_ID, AllFieldsOptional, ScopedPrimaryKeyRelatedField, TenantScopedViewSet, parse

from ..models import ArticleStatus, KbArticle, KbArticleVersion, KbCategory
from ..selectors import kb as selectors
from ..services import kb as services
from .serializers import category_field, named_choice

READ_PERM, WRITE_PERM = "tickets.view_kbarticle", services.CHANGE_PERM
QUERY_MAX = 200
EXCERPT_CHARS = 140
NO_BODY = {204: OpenApiResponse(description=_("Done"))}


def ticket_category_field(**kwargs):
    return category_field(blank=True, **kwargs)


def article_status_field(**kwargs):
    return named_choice("KbArticleStatusEnum", ArticleStatus.choices, **kwargs)


class KbPagination(PageNumberPagination):
    """Page numbers (search results are ranked, not ordered by a column)."""

    page_size = 20
    page_size_query_param = "page_size"
    max_page_size = 100


# --- serializers -----------------------------------------------------------------------------------

class KbCategorySerializer(serializers.ModelSerializer):
    article_count = serializers.IntegerField(read_only=True, help_text=_("Articles of any status"))
    published_count = serializers.IntegerField(read_only=True)

    class Meta:
        model = KbCategory
        fields = ["id", "name", "position", "article_count", "published_count"]
        read_only_fields = fields


class KbCategoryInputSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=services.CATEGORY_NAME_MAX)
    position = serializers.IntegerField(min_value=0, max_value=services.POSITION_MAX, required=False, default=100,
                                        help_text=_("Lower numbers come first"))


class KbCategoryUpdateSerializer(AllFieldsOptional, KbCategoryInputSerializer):
    """Every field optional: what is left out keeps its value."""


class KbArticleSerializer(serializers.ModelSerializer):
    """An article as readers see it: the published text (a draft's or an archived article's
    newest text)."""

    status = article_status_field(read_only=True)
    category = serializers.IntegerField(source="category_id", allow_null=True, read_only=True)
    category_name = serializers.SerializerMethodField()
    ticket_category = ticket_category_field(read_only=True, help_text=_("Empty: any"))
    excerpt = serializers.SerializerMethodField()
    score = serializers.SerializerMethodField()

    class Meta:
        model = KbArticle
        fields = ["id", "title", "excerpt", "status", "category", "category_name", "ticket_category", "version",
                  "published_version", "usage_count", "view_count", "created_at", "updated_at", "published_at",
                  "score"]
        read_only_fields = fields

    def get_category_name(self, obj) -> str | None:
        return obj.category.name if obj.category_id else None

    def get_excerpt(self, obj) -> str:
        return " ".join(obj.body.split())[:EXCERPT_CHARS]

    def get_score(self, obj) -> float | None:
        """The search rank (higher is better) with `q`, else null."""
        return getattr(obj, "score", None)


class KbDraftSerializer(serializers.Serializer):
    version = serializers.IntegerField()
    title = serializers.CharField()
    body = serializers.CharField()


class KbArticleDetailSerializer(KbArticleSerializer):
    draft = serializers.SerializerMethodField()

    class Meta(KbArticleSerializer.Meta):
        fields = [*KbArticleSerializer.Meta.fields, "body", "draft"]
        read_only_fields = fields

    @extend_schema_field(KbDraftSerializer(allow_null=True))
    def get_draft(self, obj):
        """Editors: the newest unpublished text of a published article; else null."""
        return None  # filled in by the view, which knows who asks


class KbVersionSerializer(serializers.ModelSerializer):
    created_by_name = serializers.SerializerMethodField()

    class Meta:
        model = KbArticleVersion
        fields = ["version", "title", "body", "note", "created_at", "created_by_name"]
        read_only_fields = fields

    def get_created_by_name(self, obj) -> str | None:
        return obj.created_by.display_name if obj.created_by_id else None


class KbSuggestionSerializer(serializers.ModelSerializer):
    ticket_category = ticket_category_field(read_only=True)
    excerpt = serializers.SerializerMethodField()

    class Meta:
        model = KbArticle
        fields = ["id", "title", "ticket_category", "excerpt", "usage_count"]
        read_only_fields = fields

    def get_excerpt(self, obj) -> str:
        return " ".join(obj.body.split())[:EXCERPT_CHARS]


class KbArticleInputSerializer(serializers.Serializer):
    title = serializers.CharField(max_length=services.TITLE_MAX)
    body = serializers.CharField(max_length=services.BODY_MAX)
    category = ScopedPrimaryKeyRelatedField(KbCategory, allow_null=True, required=False, default=None,
                                            help_text=_("Knowledge-base category id; null: none"))
    ticket_category = ticket_category_field(required=False, default="",
                                            help_text=_("Suggested first on tickets of this category; empty: any"))
    note = serializers.CharField(max_length=services.NOTE_MAX, required=False, default="", allow_blank=True,
                                 help_text=_("Change note for the version history"))
    publish = serializers.BooleanField(required=False, default=False,
                                       help_text=_("Publish the new text at once (else a draft)"))


class KbArticleUpdateSerializer(AllFieldsOptional, KbArticleInputSerializer):
    """Every field optional: what is left out keeps its value. A new title or text is a new
    version; a published article keeps its live text until published."""

    keep_defaults = ("note", "publish")


class KbRestoreSerializer(serializers.Serializer):
    version = serializers.IntegerField(min_value=1, max_value=2**31 - 1)
    note = serializers.CharField(max_length=services.NOTE_MAX, required=False, default="", allow_blank=True)
    publish = serializers.BooleanField(required=False, default=False)


class KbListQuerySerializer(serializers.Serializer):
    q = serializers.CharField(max_length=QUERY_MAX, required=False, allow_blank=True, default="",
                              help_text=_("Search words (Chinese without spaces is fine): ranked results"))
    category = serializers.IntegerField(min_value=1, max_value=MAX_ID, required=False, allow_null=True,
                                        default=None, help_text=_("Knowledge-base category id"))
    status = article_status_field(blank=True, required=False, default="",
                                  help_text=_("Editors only; readers always get published articles"))


class KbSuggestQuerySerializer(serializers.Serializer):
    q = serializers.CharField(max_length=QUERY_MAX, required=False, allow_blank=True, default="",
                              help_text=_("The ticket's subject"))
    category = ticket_category_field(required=False, default="", help_text=_("The ticket's category"))


# --- views -----------------------------------------------------------------------------------------

class KbViewSet(TenantScopedViewSet):
    read_perm, write_perm = READ_PERM, WRITE_PERM
    filter_backends: list = []


    @property
    def editor(self) -> bool:
        return selectors.may_edit(self.request.user)


@extend_schema_view(
    list=extend_schema(parameters=[KbListQuerySerializer], responses=KbArticleSerializer(many=True)),
    retrieve=extend_schema(responses=KbArticleDetailSerializer))
class KbArticleViewSet(mixins.RetrieveModelMixin, KbViewSet):
    """Knowledge-base articles. Readers get published articles only; editors also drafts and
    archived ones, and with `draft` the newest unpublished text of a published article."""

    model = KbArticle
    serializer_class = KbArticleSerializer
    pagination_class = KbPagination

    def scoped_queryset(self):
        return selectors.kb_article_list(published_only=not self.editor)

    def list(self, request, *args, **kwargs):
        query = parse(KbListQuerySerializer, request.query_params)
        published_only = not self.editor
        q = query["q"].strip()
        if q:
            articles = selectors.kb_article_search(q, status=query["status"], category_id=query["category"],
                                                   published_only=published_only)
        else:
            articles = selectors.kb_article_list(status=query["status"], category_id=query["category"],
                                                 published_only=published_only)
        page = self.paginate_queryset(articles)
        return self.get_paginated_response(KbArticleSerializer(page, many=True).data)

    def retrieve(self, request, *args, **kwargs):
        return Response(self._detail(self.get_object()))

    def _detail(self, article) -> dict:
        data = KbArticleDetailSerializer(article).data
        data["draft"] = None
        if self.editor:
            latest = selectors.kb_article_latest(article)
            if latest.pending:
                data["draft"] = KbDraftSerializer(latest).data
        return data

    def _reloaded(self, article) -> dict:
        return self._detail(selectors.kb_article_get(pk=article.pk, published_only=False))

    @extend_schema(request=KbArticleInputSerializer, responses={201: KbArticleDetailSerializer})
    def create(self, request, *args, **kwargs):
        article = services.article_create(actor=request.user, **parse(KbArticleInputSerializer, request.data))
        return Response(self._reloaded(article), status=status.HTTP_201_CREATED)

    @extend_schema(request=KbArticleUpdateSerializer, responses=KbArticleDetailSerializer)
    def partial_update(self, request, *args, **kwargs):
        article = self.get_object()
        article = services.article_update(actor=request.user, article=article,
                                          **parse(KbArticleUpdateSerializer, request.data))
        return Response(self._reloaded(article))

    @extend_schema(request=None, responses=KbArticleDetailSerializer)
    @action(detail=True, methods=["post"])
    def publish(self, request, pk=None):
        """Make the newest version the live text (also brings an archived article back)."""
        article = services.article_publish(actor=request.user, article=self.get_object())
        return Response(self._reloaded(article))

    @extend_schema(request=None, responses=KbArticleDetailSerializer)
    @action(detail=True, methods=["post"])
    def archive(self, request, pk=None):
        """Take the article out of search, suggestions and the readers' lists."""
        article = services.article_archive(actor=request.user, article=self.get_object())
        return Response(self._reloaded(article))

    @extend_schema(request=KbRestoreSerializer, responses=KbArticleDetailSerializer)
    @action(detail=True, methods=["post"])
    def restore(self, request, pk=None):
        """Save an earlier version's text as the newest version (published only with `publish`)."""
        article = services.article_restore(actor=request.user, article=self.get_object(),
                                           **parse(KbRestoreSerializer, request.data))
        return Response(self._reloaded(article))

    @extend_schema(responses=KbVersionSerializer(many=True))
    @action(detail=True, methods=["get"], pagination_class=None)
    def versions(self, request, pk=None):
        """Every saved version, newest first (editors only)."""
        if not self.editor:
            raise exceptions.PermissionDenied()
        article = self.get_object()
        return Response(KbVersionSerializer(selectors.kb_article_versions(article_id=article.pk), many=True).data)

    @extend_schema(parameters=[KbSuggestQuerySerializer], responses=KbSuggestionSerializer(many=True))
    @action(detail=False, methods=["get"], pagination_class=None)
    def suggest(self, request):
        """Published articles for a ticket: by its subject, its category's articles first."""
        query = parse(KbSuggestQuerySerializer, request.query_params)
        articles = selectors.kb_suggestions_for(subject=query["q"], category=query["category"])
        return Response(KbSuggestionSerializer(articles, many=True).data)


@extend_schema_view(list=extend_schema(responses=KbCategorySerializer(many=True)),
                    retrieve=extend_schema(responses=KbCategorySerializer), destroy=extend_schema(responses=NO_BODY))
class KbCategoryViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, KbViewSet):
    """Knowledge-base categories with their article counts. A category that still has articles
    cannot be deleted (400 naming `category`)."""

    model = KbCategory
    serializer_class = KbCategorySerializer
    pagination_class = None

    def scoped_queryset(self):
        return selectors.kb_category_list(with_counts=True)

    def _reloaded(self, category) -> dict:
        return KbCategorySerializer(selectors.kb_category_list(with_counts=True).get(pk=category.pk)).data

    @extend_schema(request=KbCategoryInputSerializer, responses={201: KbCategorySerializer})
    def create(self, request, *args, **kwargs):
        category = services.category_create(actor=request.user, **parse(KbCategoryInputSerializer, request.data))
        return Response(self._reloaded(category), status=status.HTTP_201_CREATED)

    @extend_schema(request=KbCategoryUpdateSerializer, responses=KbCategorySerializer)
    def partial_update(self, request, *args, **kwargs):
        category = services.category_update(actor=request.user, category=self.get_object(),
                                            **parse(KbCategoryUpdateSerializer, request.data))
        return Response(self._reloaded(category))

    def destroy(self, request, *args, **kwargs):
        services.category_delete(actor=request.user, category=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)


urlpatterns: list = []


def register(router) -> None:
    """Add this area's viewsets to the tickets API router."""
    router.register("kb-articles", KbArticleViewSet, basename="kb-article")
    router.register("kb-categories", KbCategoryViewSet, basename="kb-category")
