from django.urls import path

from casework.api import CaseDetailView, CaseListView, CaseTransitionView, ReferralResultView

urlpatterns = [
    path("cases/", CaseListView.as_view(), name="api-case-list"),
    path("cases/<int:case_id>/", CaseDetailView.as_view(), name="api-case-detail"),
    path(
        "cases/<int:case_id>/transitions/",
        CaseTransitionView.as_view(),
        name="api-case-transitions",
    ),
    path(
        "cases/<int:case_id>/referral-result/",
        ReferralResultView.as_view(),
        name="api-case-referral-result",
    ),
]
