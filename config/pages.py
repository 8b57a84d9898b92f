"""Public pages that need no sign-in and read nothing from the database.

Included from config/urls.py with ``path("", include("config.pages"))``.
"""

from django.urls import path
from django.views.generic import TemplateView


class AccessibilityStatementView(TemplateView):
    """The accessibility statement: public, static, and the bare page that benchmarks compare
    other pages against, so it must never grow a query of its own."""

    template_name = "accessibility.html"


urlpatterns = [
    path(
        "accessibility/",
        AccessibilityStatementView.as_view(),
        name="accessibility-statement",
    ),
]
