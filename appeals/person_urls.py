"""The pages of the person a record is about, and of their representative."""

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []
