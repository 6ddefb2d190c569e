"""Knowledge-base pages: the list with search and filters, one article (with its versions for
editors), the editor, one version with "restore", the categories, and the suggestions fragment
of the ticket page. Everyone who reads tickets reads published articles
(`tickets.view_kbarticle`); branch managers and tenant admins edit (`tickets.change_kbarticle`)
and also see drafts and archived articles. Thin: parse → service / selector → render; a refused
input comes back as form errors (400) with what was typed."""
from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.urls import path
from django.utils.text import Truncator
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from tenancy.forms import apply_service_errors
from tenancy.views import perm_required

from .. import kb_search
from ..forms.kb import QUERY_MAX, ArticleForm, CategoryForm, RestoreForm, SearchForm
from ..models import TicketCategory
from ..selectors import kb as selectors
from ..services import kb as services

READ_PERM = "tickets.view_kbarticle"
ADD_PERM = services.ADD_PERM
EDIT_PERM = services.CHANGE_PERM
PAGE_SIZE = 20
INSERT_CHARS = 300   # how much of an article "insert into reply" puts into the reply box


def _saved(form, save) -> object | None:
    """`save(cleaned_data)` for a valid form; a service refusal lands on the form's fields."""
    if not form.is_valid():
        return None
    try:
        return save(form.cleaned_data) or True
    except ValidationError as exc:
        apply_service_errors(form, exc)
        return None


def _status(request) -> int:
    return 400 if request.method == "POST" else 200


# --- list and search -----------------------------------------------------------------------------

@perm_required(READ_PERM)
def kb(request):
    editor = selectors.may_edit(request.user)
    form = SearchForm(request.GET or None, editor=editor)
    filters = form.values() if form.is_bound else {"q": "", "category_id": None, "status": ""}
    q = filters["q"]
    if q:
        results = selectors.kb_article_search(q, status=filters["status"], category_id=filters["category_id"],
                                              published_only=not editor)
    else:
        results = selectors.kb_article_list(status=filters["status"], category_id=filters["category_id"],
                                            published_only=not editor)
    page = Paginator(results, PAGE_SIZE).get_page(request.GET.get("page"))
    for article in page:
        article.title_html = kb_search.highlight(article.title, q)
        article.snippet_html = kb_search.snippet(article.body, q)
    return render(request, "tickets/kb/list.html", {
        "form": form, "page": page, "q": q, "editor": editor, "searching": bool(q),
    })


# --- one article ---------------------------------------------------------------------------------

@require_GET
@perm_required(READ_PERM)
def kb_article(request, pk: int):
    editor = selectors.may_edit(request.user)
    article = selectors.kb_article_get(pk=pk, published_only=not editor)
    services.kb_article_viewed(article_id=article.pk)
    article.view_count += 1
    context = {"article": article, "editor": editor}
    if editor:
        context.update(latest=selectors.kb_article_latest(article),
                       versions=list(selectors.kb_article_versions(article_id=article.pk).defer("body")))
    return render(request, "tickets/kb/article.html", context)


def _refusal(request, exc: ValidationError) -> None:
    for message in exc.messages:
        messages.error(request, message)


def _article_action(request, pk: int, action, done: str):
    """Publish or archive from the article page: the service's refusal shows as a message."""
    article = selectors.kb_article_get(pk=pk, published_only=False)
    try:
        action(actor=request.user, article=article)
    except ValidationError as exc:
        _refusal(request, exc)
    else:
        messages.success(request, done)
    return redirect("tickets:kb_article", article.pk)


@require_POST
@perm_required(EDIT_PERM)
def kb_publish(request, pk: int):
    return _article_action(request, pk, services.article_publish,
                           _("Published: readers now see the newest version."))


@require_POST
@perm_required(EDIT_PERM)
def kb_archive(request, pk: int):
    return _article_action(request, pk, services.article_archive,
                           _("Archived: the article is no longer found or suggested."))


# --- editor --------------------------------------------------------------------------------------

def _edit(request, article=None):
    if article is None:
        initial = {"publish": False}
    else:
        latest = selectors.kb_article_latest(article)
        initial = {"title": latest.title, "body": latest.body, "category": article.category_id,
                   "ticket_category": article.ticket_category}
    form = ArticleForm(request.POST or None, initial=initial)
    if request.method == "POST":
        def save(data):
            if article is None:
                return services.article_create(actor=request.user, **data)
            return services.article_update(actor=request.user, article=article, **data)

        saved = _saved(form, save)
        if saved:
            if form.cleaned_data["publish"]:
                messages.success(request, _("Article saved and published."))
            else:
                messages.success(request, _("Article saved as a draft: publish it when it is ready."))
            return redirect("tickets:kb_article", saved.pk)
    return render(request, "tickets/kb/edit.html", {
        "form": form, "article": article,
        "title": _("Edit: %(title)s") % {"title": article.title} if article else _("New article"),
    }, status=_status(request))


@perm_required(ADD_PERM)
def kb_new(request):
    return _edit(request)


@perm_required(EDIT_PERM)
def kb_edit(request, pk: int):
    return _edit(request, selectors.kb_article_get(pk=pk, published_only=False))


@perm_required(EDIT_PERM)
def kb_version(request, pk: int, version: int):
    """One saved version; POST saves its text as the newest version ("restore")."""
    article = selectors.kb_article_get(pk=pk, published_only=False)
    row = selectors.kb_version_get(article_id=article.pk, version=version)
    form = RestoreForm(request.POST or None)
    if request.method == "POST":
        def save(data):
            return services.article_restore(actor=request.user, article=article, version=row.version, **data)

        if _saved(form, save):
            if form.cleaned_data["publish"]:
                messages.success(request, _("Version %(n)d restored and published.") % {"n": row.version})
            else:
                messages.success(request, _("Version %(n)d restored as a draft: publish it when it is ready.") % {
                    "n": row.version})
            return redirect("tickets:kb_article", article.pk)
    return render(request, "tickets/kb/version.html", {
        "article": article, "row": row, "form": form, "is_newest": row.version == article.version,
    }, status=_status(request))


# --- categories ----------------------------------------------------------------------------------

def _category_page(request, *, new_form=None, bound=None, status=200):
    rows = []
    for category in selectors.kb_category_list(with_counts=True):
        form = bound[1] if bound and bound[0] == category.pk else CategoryForm(
            initial={"name": category.name, "position": category.position}, auto_id=f"id_c{category.pk}_%s")
        rows.append((category, form))
    return render(request, "tickets/kb/categories.html", {
        "rows": rows, "form": new_form or CategoryForm(initial={"position": 100}),
    }, status=status)


@perm_required(EDIT_PERM)
def kb_categories(request):
    """The categories with their article counts; POST adds one."""
    if request.method != "POST":
        return _category_page(request)
    form = CategoryForm(request.POST)

    def save(data):
        position = data["position"] if data["position"] is not None else 100
        return services.category_create(actor=request.user, name=data["name"], position=position)

    category = _saved(form, save)
    if category:
        messages.success(request, _("Category %(name)s added.") % {"name": category.name})
        return redirect("tickets:kb_categories")
    return _category_page(request, new_form=form, status=400)


@require_POST
@perm_required(EDIT_PERM)
def kb_category_edit(request, pk: int):
    """Rename or reorder one category."""
    category = selectors.kb_category_get(pk=pk)
    form = CategoryForm(request.POST, auto_id=f"id_c{category.pk}_%s")

    def save(data):
        changes = {"name": data["name"]}
        if data["position"] is not None:
            changes["position"] = data["position"]
        return services.category_update(actor=request.user, category=category, **changes)

    saved = _saved(form, save)
    if saved:
        messages.success(request, _("Category %(name)s saved.") % {"name": saved.name})
        return redirect("tickets:kb_categories")
    return _category_page(request, bound=(category.pk, form), status=400)


@require_POST
@perm_required(EDIT_PERM)
def kb_category_delete(request, pk: int):
    category = selectors.kb_category_get(pk=pk)
    try:
        services.category_delete(actor=request.user, category=category)
    except ValidationError as exc:
        _refusal(request, exc)
        return _category_page(request, status=400)
    messages.success(request, _("Category %(name)s removed.") % {"name": category.name})
    return redirect("tickets:kb_categories")


# --- suggestions on the ticket page --------------------------------------------------------------

def insert_text(article) -> str:
    """What "insert into reply" appends to the reply box: the title and the start of the text."""
    return f"【{article.title}】\n{Truncator(article.body).chars(INSERT_CHARS)}"


@require_GET
@perm_required(READ_PERM)
def kb_suggest(request):
    """htmx fragment: published articles for a ticket's subject (`q`) and ticket category."""
    q = (request.GET.get("q") or "")[:QUERY_MAX]
    category = request.GET.get("category") or ""
    if category not in TicketCategory.values:
        category = ""
    articles = selectors.kb_suggestions_for(subject=q, category=category)
    for article in articles:
        article.snippet_html = kb_search.snippet(article.body, q, width=90)
        article.insert_text = insert_text(article)
    return render(request, "tickets/kb/_suggestions.html", {"articles": articles, "q": q})


urlpatterns = [
    path("kb/", kb, name="kb"),
    path("kb/new/", kb_new, name="kb_new"),
    path("kb/suggest/", kb_suggest, name="kb_suggest"),
    path("kb/categories/", kb_categories, name="kb_categories"),
    path("kb/categories/<int:pk>/", kb_category_edit, name="kb_category_edit"),
    path("kb/categories/<int:pk>/delete/", kb_category_delete, name="kb_category_delete"),
    path("kb/<int:pk>/", kb_article, name="kb_article"),
    path("kb/<int:pk>/edit/", kb_edit, name="kb_edit"),
    path("kb/<int:pk>/publish/", kb_publish, name="kb_publish"),
    path("kb/<int:pk>/archive/", kb_archive, name="kb_archive"),
    path("kb/<int:pk>/versions/<int:version>/", kb_version, name="kb_version"),
]
