"""The appeals API: the record, grants of representation and challenges."""

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []
