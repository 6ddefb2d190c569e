from rest_framework.pagination import CursorPagination


class IdCursorPagination(CursorPagination):
    """Cursor pagination on the primary key: stable and index-backed on large lists."""

    ordering = "-id"
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200


class TabCountsCursorPagination(IdCursorPagination):
    """A work queue's cursor pagination: with `counts=true` the page also carries how many rows
    each of the queue's tabs holds. Subclasses name `tabs` and `counts_description`."""

    tabs: tuple[str, ...] = ()
    counts_description = ""

    def get_paginated_response(self, data, counts=None):
        response = super().get_paginated_response(data)
        if counts is not None:
            response.data = {"next": response.data["next"], "previous": response.data["previous"],
                             "counts": counts, "results": response.data["results"]}
        return response

    def get_paginated_response_schema(self, schema):
        paginated = super().get_paginated_response_schema(schema)
        paginated["properties"]["counts"] = {
            "type": "object", "description": str(self.counts_description),
            "properties": {tab: {"type": "integer"} for tab in self.tabs}, "required": list(self.tabs)}
        return paginated
