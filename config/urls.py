from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

urlpatterns = [
    path("", include("accounts.urls")),
    path("", include("casework.page_urls")),
    path("admin/", admin.site.urls),
    path("", include("config.pages")),
    path("api/v1/", include("flags.urls")),
    path("api/v1/", include("casework.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
]
