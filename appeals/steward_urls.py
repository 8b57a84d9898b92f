"""The data steward's and the senior reviewer's pages for deciding challenges."""

from django.urls import path

from appeals import steward_views

urlpatterns = [
    path("adjudication/", steward_views.adjudication_queue, name="adjudication-queue"),
    path(
        "adjudication/<int:challenge_id>/",
        steward_views.adjudication_page,
        name="adjudication-page",
    ),
    path(
        "adjudication/<int:challenge_id>/act/",
        steward_views.adjudication_action,
        name="adjudication-action",
    ),
    path("escalations/", steward_views.escalations_queue, name="escalation-queue"),
]
