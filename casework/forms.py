"""The reviewer pages' forms: the queue's filters, the case actions and a referral's result."""

from typing import Any

from django import forms
from django.conf import settings

from casework.models import CaseStatus, Outcome, ReferralResultKind
from casework.selectors import QUEUE_STATUS_CHOICES, QueueFilters, QueueSort
from casework.services import DecisionRequest, ReferralResultRequest
from casework.workflow import CASE_ACTIONS
from flags.models import Category


class QueueFilterForm(forms.Form):
    status = forms.ChoiceField(
        choices=[("", "Every live case"), *QUEUE_STATUS_CHOICES], required=False
    )
    category = forms.ChoiceField(choices=[("", "Any category"), *Category.choices], required=False)
    unit = forms.CharField(required=False, max_length=100)
    due_before = forms.DateField(required=False, label="Due on or before")
    mine = forms.BooleanField(required=False, label="Only cases assigned to me")
    sort = forms.ChoiceField(choices=QueueSort.choices, required=False)

    def filters(self) -> QueueFilters:
        data = dict(self.cleaned_data) if self.is_valid() else {}
        data["assigned_to_me"] = data.pop("mine", False)
        return QueueFilters.from_data(data)


class ActionForm(forms.Form):
    """One action on a case. What each action needs beyond the rationale and declaration (an
    outcome, a date) is checked by the service, whose messages are shown against the fields."""

    action = forms.ChoiceField(choices=CASE_ACTIONS, widget=forms.HiddenInput)
    expected_status = forms.ChoiceField(choices=CaseStatus.choices, widget=forms.HiddenInput)
    outcome = forms.ChoiceField(choices=Outcome.choices, required=False)
    # On a signature: the recommendation the signer read, so a newer one is not signed unseen.
    recommendation = forms.IntegerField(
        required=False, widget=forms.HiddenInput, min_value=1, max_value=2**63 - 1
    )
    deferred_until = forms.DateField(
        required=False, label="Tell the subject no later than", widget=forms.DateInput()
    )
    assign_to = forms.CharField(required=False, max_length=150, label="Reviewer")
    rationale = forms.CharField(widget=forms.Textarea, required=False, max_length=10000)
    no_conflict_declared = forms.BooleanField(
        required=False,
        label="I have no conflict of interest with the person this case is about",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.rationale_min = settings.DECISION_RATIONALE_MIN_CHARS

    def as_request(self) -> DecisionRequest:
        data = self.cleaned_data
        return DecisionRequest(
            action=data["action"],
            rationale=data.get("rationale") or "",
            outcome=data.get("outcome") or "",
            no_conflict_declared=bool(data.get("no_conflict_declared")),
            deferred_until=data.get("deferred_until"),
            expected_status=data.get("expected_status"),
            recommendation_id=data.get("recommendation"),
            assign_to=data.get("assign_to") or "",
        )


class ReferralResultForm(forms.Form):
    """A referral's result, recorded by a senior reviewer. What it needs (a result, the day, the
    reasons, the declaration) is checked by the service, whose messages are shown against the
    fields; the form refuses only what cannot be read (an unknown result, a date that is not one,
    a NUL character)."""

    result = forms.ChoiceField(choices=ReferralResultKind.choices, required=False)
    concluded_on = forms.DateField(
        required=False, label="The day the investigating body concluded", widget=forms.DateInput()
    )
    reasons = forms.CharField(widget=forms.Textarea, required=False, max_length=10000)
    no_conflict_declared = forms.BooleanField(
        required=False,
        label="I have no conflict of interest with the person this case is about",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.reasons_min = settings.DECISION_RATIONALE_MIN_CHARS

    def as_request(self) -> ReferralResultRequest:
        data = self.cleaned_data
        return ReferralResultRequest(
            result=data.get("result") or "",
            concluded_on=data.get("concluded_on"),
            reasons=data.get("reasons") or "",
            no_conflict_declared=bool(data.get("no_conflict_declared")),
        )
