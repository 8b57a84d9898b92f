"""The data steward's and the senior reviewer's pages for deciding challenges."""

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []
