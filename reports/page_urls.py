"""The reports pages (reports/views.py)."""

from django.urls import path

from reports import views

urlpatterns = [
    path("reports/", views.reports_page, name="reports"),
    path("reports/new/", views.ask, name="ask-for-report"),
    path("reports/<int:report_id>/", views.report_page, name="report-page"),
    path("reports/<int:report_id>/progress.json", views.report_progress, name="report-progress"),
    path("reports/<int:report_id>/file", views.report_file, name="report-file"),
    path("oversight/", views.oversight_dashboard, name="oversight-dashboard"),
]
