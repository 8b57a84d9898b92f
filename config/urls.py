from csp.decorators import csp_update
from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

urlpatterns = [
    path("", include("accounts.urls")),
    path("", include("casework.page_urls")),
    path("", include("appeals.person_urls")),
    path("", include("appeals.steward_urls")),
    path("", include("reports.page_urls")),
    path("admin/", admin.site.urls),
    path("", include("config.pages")),
    path("api/v1/", include("flags.urls")),
    path("api/v1/", include("casework.urls")),
    path("api/v1/", include("appeals.api_urls")),
    path("api/v1/", include("reports.api_urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    # The split view serves Swagger UI's set-up script as a file, not inline; its page still
    # carries a small inline stylesheet.
    path(
        "api/docs/",
        csp_update({"style-src": ["'unsafe-inline'"]})(
            SpectacularSwaggerSplitView.as_view(url_name="schema")
        ),
        name="api-docs",
    ),
]
