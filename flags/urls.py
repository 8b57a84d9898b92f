from django.urls import path

from flags.api import FlagIngestView

urlpatterns = [path("flags/", FlagIngestView.as_view(), name="flag-ingest")]
