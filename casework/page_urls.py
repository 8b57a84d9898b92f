from django.urls import path

from casework import views

urlpatterns = [
    path("cases/", views.queue, name="case-queue"),
    path("cases/<int:case_id>/", views.case_page, name="case-page"),
    path("cases/<int:case_id>/act/", views.case_action, name="case-action"),
    path(
        "cases/<int:case_id>/referral-result/",
        views.referral_result,
        name="case-referral-result",
    ),
    path("notices/", views.my_notices, name="my-notices"),
]
