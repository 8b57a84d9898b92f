"""The forms of the data steward's and the senior reviewer's pages: the queue's filters, and
taking and deciding a challenge.

The forms turn what was typed into values (a JSON object, an aware date and time); the rules of a
decision (reasons long enough, the remedies a finding allows, the declaration) are the service's,
whose messages are shown against the same fields.
"""

import json
import math
from datetime import datetime
from typing import Any

from django import forms
from django.conf import settings
from django.utils import timezone

from appeals.models import ChallengeKind, Finding, Remedy
from appeals.services import Adjudication, CorrectedContent
from appeals.services.challenges import allowed_remedies
from config.parsers import nesting_depth
from flags.ingest_schema import MAX_NESTING

# ---------------------------------------------------------------------------------------------
# The queues.


class Show:
    OPEN = "open"
    DECIDED = "decided"
    ALL = "all"


class StewardQueueForm(forms.Form):
    show = forms.ChoiceField(
        choices=[
            (Show.OPEN, "Open: waiting to be taken or decided"),
            (Show.DECIDED, "Decided"),
            (Show.ALL, "Every challenge"),
        ],
        required=False,
        label="Show",
    )
    mine = forms.BooleanField(required=False, label="Only challenges I took")

    def show_value(self) -> str:
        return (self.cleaned_data.get("show") if self.is_valid() else "") or Show.OPEN

    def only_mine(self) -> bool:
        return bool(self.is_valid() and self.cleaned_data.get("mine"))


# ---------------------------------------------------------------------------------------------
# Taking and deciding a challenge.


class Step:
    ACKNOWLEDGE = "acknowledge"
    DECIDE = "decide"
    DECIDE_ESCALATION = "decide_escalation"


STEPS = [
    (Step.ACKNOWLEDGE, "Take this challenge"),
    (Step.DECIDE, "Decide this challenge"),
    (Step.DECIDE_ESCALATION, "Decide this escalated challenge"),
]

# "Nothing changes" needs a value of its own on the form, so that not choosing is told apart
# from choosing it.
NO_CHANGE = "none"

DATETIME_FORMATS = ["%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M"]


# Each remedy as the one deciding chooses it (``Remedy``'s labels say what was done).
REMEDY_CHOICES = {
    Remedy.NONE: "Nothing changes",
    Remedy.CORRECTED: "Correct the record",
    Remedy.WITHDRAWN: "Withdraw the record",
    Remedy.SET_ASIDE: "Set the decision aside",
}


def remedy_choices(kind: str) -> list[tuple[str, str]]:
    """The remedies any finding allows on a challenge of this kind, in the order of ``Remedy``,
    "nothing changes" first."""
    allowed = set().union(*(allowed_remedies(kind, finding) for finding in Finding.values))
    return [
        (value or NO_CHANGE, REMEDY_CHOICES[Remedy(value)])
        for value in Remedy.values
        if value in allowed
    ]


def remedies_by_finding(kind: str) -> list[tuple[str, str]]:
    """For the form's hint: each finding and the remedies it allows, in words."""
    return [
        (
            str(finding_label),
            " or ".join(
                REMEDY_CHOICES[Remedy(value)].lower()
                for value in Remedy.values
                if value in allowed_remedies(kind, finding)
            ),
        )
        for finding, finding_label in Finding.choices
    ]


class AdjudicationForm(forms.Form):
    """Taking (acknowledging) a challenge, or deciding it, as the hidden ``action`` says."""

    action = forms.ChoiceField(choices=STEPS, widget=forms.HiddenInput)
    finding = forms.ChoiceField(choices=Finding.choices, required=False, label="Your finding")
    remedy = forms.ChoiceField(choices=[], required=False, label="What follows")
    reasons = forms.CharField(
        widget=forms.Textarea, required=False, strip=False, label="Your reasons"
    )
    corrected_summary = forms.CharField(required=False, label="Corrected summary")
    corrected_payload = forms.CharField(
        widget=forms.Textarea, required=False, strip=False, label="Corrected details, as JSON"
    )
    corrected_occurred_at = forms.DateTimeField(
        required=False,
        input_formats=DATETIME_FORMATS,
        label="When it happened",
        error_messages={
            "invalid": "Enter the date and time it happened, for example 2026-03-02T18:00."
        },
    )
    no_conflict_declared = forms.BooleanField(
        required=False,
        label="I have no conflict of interest with the person this challenge is about",
    )

    def __init__(self, *args: Any, kind: str = ChallengeKind.INACCURATE, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.kind = kind
        remedy: Any = self.fields["remedy"]
        remedy.choices = remedy_choices(kind)
        self.reasons_min = settings.CHALLENGE_REASONS_MIN_CHARS
        self.reasons_max = settings.CHALLENGE_GROUNDS_MAX_CHARS
        self.max_nesting = MAX_NESTING

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("action") == Step.ACKNOWLEDGE:
            return data
        if data.get("finding") == Finding.REJECTED and not data.get("remedy"):
            data["remedy"] = NO_CHANGE  # a rejection changes nothing: there is nothing to choose
        if data.get("finding") and not data.get("remedy") and "remedy" not in self.errors:
            self.add_error("remedy", "Choose what follows from your finding.")
        if data.get("remedy") == Remedy.CORRECTED:
            self._clean_correction(data)
        return data

    def _clean_correction(self, data: dict[str, Any]) -> None:
        try:
            data["payload"] = parse_payload(data.get("corrected_payload") or "")
        except forms.ValidationError as exc:
            self.add_error("corrected_payload", exc)
        if data.get("corrected_occurred_at") is None and "corrected_occurred_at" not in self.errors:
            self.add_error("corrected_occurred_at", "Enter the date and time it happened.")

    def adjudication(self) -> Adjudication:
        """The decision as written, from a valid form; from an invalid one, what of it could be
        read, with a stand-in for corrected content that could not, so that the service's rules
        can still say what else is wrong (``adjudication_problems``)."""
        data = self.cleaned_data
        remedy = "" if data.get("remedy") in (NO_CHANGE, None) else data["remedy"]
        correction = None
        if remedy == Remedy.CORRECTED:
            occurred_at = data.get("corrected_occurred_at") or timezone.now()
            correction = CorrectedContent(
                summary=data.get("corrected_summary") or "",
                payload=data.get("payload") or {},
                occurred_at=_aware(occurred_at),
            )
        return Adjudication(
            finding=data.get("finding") or "",
            reasons=data.get("reasons") or "",
            remedy=remedy,
            correction=correction,
            no_conflict_declared=bool(data.get("no_conflict_declared")),
        )


def _aware(moment: datetime) -> datetime:
    # Django makes a typed date and time aware in the current time zone (London) already; kept
    # for a naive value all the same, since the service refuses one.
    return moment if timezone.is_aware(moment) else timezone.make_aware(moment)


def parse_payload(text: str) -> dict[str, Any]:
    """The corrected details as a JSON object, by the rules a detector's evidence is held to: a
    JSON object, standard JSON only (no NaN or Infinity), at most as deeply nested as ingest
    accepts (checked before parsing), and nothing a database cannot store as text."""
    if not text.strip():
        raise forms.ValidationError(
            "Enter the corrected details as a JSON object: {} if the record has none."
        )
    if nesting_depth(text) > MAX_NESTING:
        raise forms.ValidationError(
            f"The corrected details are nested more than {MAX_NESTING} levels deep; a record "
            "may be nested at most that deep."
        )
    try:
        value = json.loads(text, parse_constant=_refuse_constant, parse_float=_finite_float)
    except ValueError as exc:
        raise forms.ValidationError(f"The corrected details are not valid JSON: {exc}.") from exc
    if not isinstance(value, dict):
        raise forms.ValidationError(
            "The corrected details must be a JSON object, in braces: "
            '{"field": "value"}, not a list, a string or a number.'
        )
    problem = _unstorable(value)
    if problem:
        raise forms.ValidationError(f"The corrected details {problem}: remove it.")
    return value


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"the number {text} is too large")
    return value


def _refuse_constant(name: str) -> None:
    raise ValueError(f"{name} is not a JSON value")


def _unstorable(value: dict[str, Any]) -> str:
    """What no database can store as text, anywhere in the details: a NUL character or an
    unpaired surrogate (which JSON's \\u escapes can write). Walked without recursion."""
    pending: list[Any] = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, dict):
            pending.extend(item.keys())
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
        elif isinstance(item, str):
            if "\x00" in item:
                return "contain a NUL character"
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                return "contain an unpaired surrogate (text that is not valid Unicode)"
    return ""


def pretty_payload(payload: Any) -> str:
    """A record's details as the form shows them to be edited."""
    return json.dumps(payload, indent=2, ensure_ascii=False, sort_keys=False)


def local_input(moment: datetime) -> str:
    """An aware time as a datetime-local input's value, in local time."""
    return timezone.localtime(moment).strftime("%Y-%m-%dT%H:%M:%S")
