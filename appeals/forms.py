"""The forms of the person's and their representative's pages: appointing a representative,
filing a challenge, escalating one.

They only carry what was typed back to the page and parse what the services cannot take as text
(a date, a case number). Everything the services check (who may be chosen, how long the grounds
may be, what a file may be) they check themselves, and their messages are shown beside the
fields.
"""

from datetime import date
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.core.validators import ProhibitNullCharactersValidator

from appeals.models import DATA_CHALLENGES, ChallengeKind

ALL_CASES = "all"


class ServiceCheckedText(forms.CharField):
    """Text whose rules (required, length, NUL characters) the service applies, with its own
    words: the form takes it as typed, spaces included, so that a refused form gives it back
    unchanged."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("required", False)
        kwargs.setdefault("strip", False)
        super().__init__(**kwargs)
        self.validators = [
            v for v in self.validators if not isinstance(v, ProhibitNullCharactersValidator)
        ]


class DayMonthYearWidget(forms.MultiWidget):
    """The GOV.UK date input: three boxes named ``<name>_day``, ``<name>_month``, ``<name>_year``
    (the template writes the HTML; this reads what was posted)."""

    def __init__(self) -> None:
        boxes: dict[str, forms.Widget | type[forms.Widget]] = {
            "day": forms.TextInput,
            "month": forms.TextInput,
            "year": forms.TextInput,
        }
        super().__init__(boxes)

    def decompress(self, value: Any) -> list[Any]:
        if isinstance(value, date):
            return [value.day, value.month, value.year]
        return [None, None, None]


class DayMonthYearField(forms.MultiValueField):
    widget = DayMonthYearWidget

    def __init__(self, **kwargs: Any) -> None:
        part = {
            "invalid": "Write the day, the month and the year as numbers.",
            "incomplete": "Give the day, the month and the year.",
        }
        super().__init__(
            fields=(
                forms.IntegerField(error_messages=part),
                forms.IntegerField(error_messages=part),
                forms.IntegerField(error_messages=part),
            ),
            require_all_fields=False,
            required=False,
            **kwargs,
        )

    def compress(self, data_list: list[Any]) -> date | None:
        if not data_list or all(value in (None, "") for value in data_list):
            return None
        day, month, year = data_list
        if None in (day, month, year):
            raise ValidationError("Give the day, the month and the year.")
        try:
            return date(year, month, day)
        except (ValueError, OverflowError) as exc:
            raise ValidationError(
                "Give a real date, for example 31 3 2027.", code="invalid_date"
            ) from exc


class AppointForm(forms.Form):
    """A person asks a representative to act for them: whom, on what, until when."""

    representative = forms.CharField(required=False, max_length=150)
    case = forms.CharField(required=False, max_length=20)
    expires_on = DayMonthYearField()

    def clean_case(self) -> int | None:
        value = (self.cleaned_data.get("case") or ALL_CASES).strip()
        if value == ALL_CASES:
            return None
        if not value.isdigit() or len(value) > 18:
            raise ValidationError("Choose all your cases or one of them.")
        return int(value)


class ChallengeForm(forms.Form):
    """A challenge to an evidence record or a decision. ``kind`` is fixed to ``decision`` for a
    decision; for a record the person chooses among the kinds that challenge data."""

    kind = forms.CharField(required=False, max_length=20)
    grounds = ServiceCheckedText(widget=forms.Textarea)
    proposed_correction = ServiceCheckedText(widget=forms.Textarea)
    # The files are read from request.FILES by the view and checked by the service; the field is
    # here so that the service's message about them is shown beside the file input.
    attachments = forms.Field(required=False)

    def __init__(self, *args: Any, on_decision: bool, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.on_decision = on_decision

    def clean_kind(self) -> str:
        if self.on_decision:
            return str(ChallengeKind.DECISION)
        kind = self.cleaned_data.get("kind") or ""
        # Anything but a kind of data challenge is no choice at all: the service then says to
        # choose one, beside the radios, with any other problem in the same answer.
        return kind if kind in DATA_CHALLENGES else ""


class EscalateForm(forms.Form):
    grounds = ServiceCheckedText(widget=forms.Textarea)
