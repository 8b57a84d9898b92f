"""The appeals API: the record, grants of representation and challenges (appeals/api/)."""

from django.urls import path

from appeals.api.challenges import (
    ChallengeAttachmentView,
    ChallengeDetailView,
    ChallengeListView,
    ChallengeTransitionView,
)
from appeals.api.record import MeView, RecordView
from appeals.api.representations import GrantListView, GrantTransitionView

urlpatterns = [
    path("me/", MeView.as_view(), name="api-me"),
    path("records/<int:subject_id>/", RecordView.as_view(), name="api-record"),
    path("representations/", GrantListView.as_view(), name="api-representation-list"),
    path(
        "representations/<int:grant_id>/transitions/",
        GrantTransitionView.as_view(),
        name="api-representation-transitions",
    ),
    path("challenges/", ChallengeListView.as_view(), name="api-challenge-list"),
    path(
        "challenges/<int:challenge_id>/", ChallengeDetailView.as_view(), name="api-challenge-detail"
    ),
    path(
        "challenges/<int:challenge_id>/transitions/",
        ChallengeTransitionView.as_view(),
        name="api-challenge-transitions",
    ),
    path(
        "challenges/<int:challenge_id>/attachments/<int:position>",
        ChallengeAttachmentView.as_view(),
        name="api-challenge-attachment",
    ),
]
