"""A page of a list in the API: the one paginator list endpoints use, the envelope of its answer
(``count``, ``next``, ``previous``, ``results``), and that envelope's serializer."""

from typing import Any

from django.db.models import QuerySet
from rest_framework import serializers
from rest_framework.pagination import PageNumberPagination
from rest_framework.request import Request
from rest_framework.views import APIView


class ApiPagination(PageNumberPagination):
    page_size = 25
    page_size_query_param = "page_size"
    max_page_size = 100


def one_page(
    items: QuerySet[Any], request: Request, view: APIView
) -> tuple[list[Any], dict[str, Any]]:
    """The page of ``items`` the request asks for (``page``, ``page_size``), and the answer's
    envelope around it. A page past the last is a 404."""
    paginator = ApiPagination()
    page = list(paginator.paginate_queryset(items, request, view=view) or [])
    assert paginator.page is not None  # noqa: S101 - paginate_queryset always sets it here
    return page, {
        "count": paginator.page.paginator.count,
        "next": paginator.get_next_link(),
        "previous": paginator.get_previous_link(),
        "results": page,
    }


def page_serializer(
    name: str, item: type[serializers.Serializer[Any]], *, counted: str, doc: str = ""
) -> type[serializers.Serializer[Any]]:
    """The serializer of one page of ``item``s, named ``name`` in the schema; ``counted`` says
    what ``count`` counts."""
    fields: dict[str, Any] = {
        "count": serializers.IntegerField(help_text=f"{counted}, on every page."),
        "next": serializers.URLField(allow_null=True),
        "previous": serializers.URLField(allow_null=True),
        "results": item(many=True),
        "__doc__": doc or None,
        "__module__": item.__module__,
    }
    return type(name, (serializers.Serializer,), fields)
