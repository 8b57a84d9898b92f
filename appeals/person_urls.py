"""The pages of the person a record is about, and of their representative."""

from django.urls import path

from appeals import person_views as views

urlpatterns = [
    path("me/", views.my_record, name="my-record"),
    path("me/representatives/", views.my_representatives, name="my-representatives"),
    path("representations/<int:grant_id>/accept/", views.accept_grant, name="grant-accept"),
    path("representations/<int:grant_id>/decline/", views.decline_grant, name="grant-decline"),
    path("representations/<int:grant_id>/revoke/", views.revoke_grant, name="grant-revoke"),
    path("representing/", views.representing, name="representing"),
    path("representing/<int:subject_id>/", views.represented_record, name="represented-record"),
    path("challenges/new/", views.file_challenge, name="file-challenge"),
    path("challenges/<int:challenge_id>/", views.my_challenge, name="my-challenge"),
    path("challenges/<int:challenge_id>/escalate/", views.escalate, name="escalate-challenge"),
    path(
        "challenges/<int:challenge_id>/attachments/<int:position>/",
        views.challenge_attachment,
        name="challenge-attachment",
    ),
]
