"""The form that asks for a report from the reports page: one form, the fields the person's
role offers (the template shows only those), read into the kind and its parameters."""

from typing import Any

from django import forms

from appeals.forms import DayMonthYearField
from reports.errors import ReportInvalid
from reports.models import ReportKind
from reports.params import parse

# The services name the parameters as the API does; the form names its own fields.
FORM_FIELDS = {
    "kind": "kind",
    "params.subject": "subject",
    "params.case": "case",
    "params.from": "start",
    "params.to": "end",
    "params": "kind",
}


class AskForm(forms.Form):
    kind = forms.ChoiceField(
        choices=ReportKind.choices,
        error_messages={"required": "Choose which report you want."},
    )
    # A represented person's record (a representative), or the own record (filled by the view).
    subject = forms.IntegerField(required=False, min_value=1, max_value=2**63 - 1)
    # A reviewer's case: its case file, or the disclosure pack of the person it is about.
    case = forms.IntegerField(
        required=False,
        min_value=1,
        max_value=2**63 - 1,
        error_messages={"invalid": "Give the case number as a whole number, such as 1042."},
    )
    start = DayMonthYearField()
    end = DayMonthYearField()

    def params(self) -> dict[str, Any]:
        data = self.cleaned_data
        kind = data["kind"]
        if kind == ReportKind.OVERSIGHT:
            return {
                "from": data["start"].isoformat() if data.get("start") else None,
                "to": data["end"].isoformat() if data.get("end") else None,
            }
        if kind == ReportKind.CASE_FILE:
            return {"case": data.get("case")}
        return {"subject": data.get("subject")}


class PeriodForm(forms.Form):
    """The oversight dashboard's period: two days, the second no earlier than the first, no later
    than today, and no more than REPORT_MAX_PERIOD_DAYS apart (the report's own rule)."""

    start = DayMonthYearField()
    end = DayMonthYearField()

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        start, end = data.get("start"), data.get("end")
        if start is None:
            self.add_error("start", "Give the first day of the period.")
        if end is None:
            self.add_error("end", "Give the last day of the period.")
        if start is None or end is None:
            return data
        try:
            parse(ReportKind.OVERSIGHT, {"from": start.isoformat(), "to": end.isoformat()})
        except ReportInvalid as exc:
            for name, message in exc.problems.items():
                self.add_error(FORM_FIELDS.get(name, "end"), message)
        return data
