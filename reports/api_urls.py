"""The reports API (reports/api.py)."""

from django.urls import path

from reports.api import ReportDetailView, ReportFileView, ReportListView

urlpatterns = [
    path("reports/", ReportListView.as_view(), name="api-report-list"),
    path("reports/<int:report_id>/", ReportDetailView.as_view(), name="api-report-detail"),
    path("reports/<int:report_id>/file", ReportFileView.as_view(), name="api-report-file"),
]
