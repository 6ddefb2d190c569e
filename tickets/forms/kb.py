"""Forms of the knowledge-base pages: search, article editor, restore, categories."""
from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy

from ..models import ArticleStatus, KbCategory, TicketCategory
from ..selectors import kb as selectors
from ..services import kb as services

QUERY_MAX = 200


class SearchForm(forms.Form):
    q = forms.CharField(label=gettext_lazy("Search"), required=False, max_length=QUERY_MAX)
    category = forms.ModelChoiceField(label=gettext_lazy("Category"), queryset=KbCategory.objects.none(),
                                      required=False, empty_label=gettext_lazy("All categories"))
    status = forms.ChoiceField(label=gettext_lazy("Status"), required=False,
                               choices=[("", gettext_lazy("Any status")), *ArticleStatus.choices])

    def __init__(self, *args, editor: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["category"].queryset = selectors.kb_category_list()
        if not editor:
            del self.fields["status"]

    def values(self) -> dict:
        """The valid filters (an invalid one is ignored, the page still lists)."""
        self.is_valid()
        data = self.cleaned_data  # without the fields that had errors
        category = data.get("category")
        return {"q": (data.get("q") or "").strip(), "category_id": category.pk if category else None,
                "status": data.get("status") or ""}


class ArticleForm(forms.Form):
    title = forms.CharField(label=gettext_lazy("Title"), max_length=services.TITLE_MAX)
    category = forms.ModelChoiceField(label=gettext_lazy("Category"), queryset=KbCategory.objects.none(),
                                      required=False, empty_label=gettext_lazy("No category"))
    ticket_category = forms.ChoiceField(label=gettext_lazy("Helps with tickets of"), required=False,
                                        choices=[("", gettext_lazy("any category")), *TicketCategory.choices],
                                        help_text=gettext_lazy("Suggested first on tickets of this category."))
    body = forms.CharField(label=gettext_lazy("Text"), max_length=services.BODY_MAX,
                           widget=forms.Textarea(attrs={"rows": 14}))
    note = forms.CharField(label=gettext_lazy("Change note"), max_length=services.NOTE_MAX, required=False,
                           help_text=gettext_lazy("What changed, for the version history."))
    publish = forms.BooleanField(label=gettext_lazy("Publish now"), required=False,
                                 help_text=gettext_lazy("Otherwise the text is saved as a draft; readers keep "
                                                        "the published text."))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["category"].queryset = selectors.kb_category_list()


class RestoreForm(forms.Form):
    note = forms.CharField(label=gettext_lazy("Change note"), max_length=services.NOTE_MAX, required=False)
    publish = forms.BooleanField(label=gettext_lazy("Publish now"), required=False)


class CategoryForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("Name"), max_length=services.CATEGORY_NAME_MAX)
    position = forms.IntegerField(label=gettext_lazy("Order"), required=False, min_value=0,
                                  max_value=services.POSITION_MAX)
