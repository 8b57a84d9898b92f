"""What a decision on a challenge did, in the words the deciding person is told at once.

Read from the audit events the decision wrote, each of which names the challenge that caused it,
so the message says exactly what the record of the decision says: nothing is inferred. The
caller notes the head of the audit log before the decision (``audit_head``) and reads what came
after it; events of other people's requests in between are left out by the challenge they name.
"""

from collections import Counter

from django.db.models import Max

from appeals.models import Challenge, Finding
from audit.models import AuditEvent
from casework import audit_actions as case_actions
from casework.models import Case, Consequence
from flags import audit_actions as flag_actions

_FOLLOWED = (
    flag_actions.EVIDENCE_CORRECTED,
    flag_actions.EVIDENCE_WITHDRAWN,
    flag_actions.EVIDENCE_DISPUTE_SETTLED,
    flag_actions.FLAG_WITHDRAWN,
    case_actions.CASE_DECISION_SET_ASIDE,
    case_actions.CASE_REEVALUATED,
    case_actions.CASE_RELEASED,
    case_actions.CASE_HELD,
)

_RECORD = {
    flag_actions.EVIDENCE_CORRECTED: "The record was corrected",
    flag_actions.EVIDENCE_WITHDRAWN: "The record was withdrawn",
    flag_actions.EVIDENCE_DISPUTE_SETTLED: "The record is no longer disputed and stays as it was",
}

# What a re-evaluation did to a case, said after the case's number.
_CONSEQUENCE: dict[str, str] = {
    Consequence.WITHDRAWN: "withdrawn because its data no longer meets the threshold",
    Consequence.RELEASED: "released from hold: its data still meets the threshold",
    Consequence.STILL_HELD: "still on hold: its data still meets the threshold, and another "
    "challenge to it is open",
    Consequence.UNCHANGED: "unchanged: its data still meets the threshold",
    Consequence.RECONSIDER: "marked for its reviewers to reconsider: it concluded on data since "
    "corrected",
    Consequence.REFERRAL_FLAGGED: "marked: it was referred on data since corrected, and the body "
    "it was referred to must be told",
}

# A case released or kept on hold without being evaluated again (its record was not changed).
_RELEASED = "released without re-evaluation"
_HELD = "held without re-evaluation"

# Counted for other people's cases, whose numbers are not the deciding person's to read.
_COUNTED: dict[str, str] = {
    Consequence.WITHDRAWN: "withdrawn",
    Consequence.RELEASED: "released from hold",
    Consequence.STILL_HELD: "still on hold",
    Consequence.UNCHANGED: "unchanged",
    Consequence.RECONSIDER: "marked for reconsideration",
    Consequence.REFERRAL_FLAGGED: "marked for the body they were referred to",
    _RELEASED: "released from hold",
    _HELD: "still on hold",
}


def audit_head() -> int:
    return AuditEvent.objects.aggregate(head=Max("seq"))["head"] or 0


def what_followed(challenge: Challenge, *, since: int) -> str:
    """The decision and each of its consequences, in one paragraph: the finding, what became of
    the record or the decision challenged, how many flags were withdrawn, and what became of each
    case of the person's (by number) and of other people's cases resting on the record (counted).
    """
    events = [
        event
        for event in AuditEvent.objects.filter(seq__gt=since, action__in=_FOLLOWED).order_by("seq")
        if isinstance(event.data, dict) and event.data.get("challenge") == challenge.pk
    ]
    parts = [_RECORD[event.action] for event in events if event.action in _RECORD] + _set_aside(
        events
    )
    flags = sum(1 for event in events if event.action == flag_actions.FLAG_WITHDRAWN)
    if flags:
        parts.append(f"{flags} flag{'s' if flags != 1 else ''} withdrawn")
    parts += _cases(events, challenge.subject_id)
    said = _decided(challenge)
    if not parts:
        return said
    followed = "; ".join(parts)
    return f"{said} {followed[:1].upper()}{followed[1:]}."


def _decided(challenge: Challenge) -> str:
    if challenge.is_final:
        finding = Finding(challenge.escalation_finding).label.lower()
        return f"You decided the escalation of challenge {challenge.pk}: {finding}. It is final."
    finding = Finding(challenge.finding).label.lower()
    said = f"You decided challenge {challenge.pk}: {finding}."
    if challenge.finding == Finding.REJECTED and challenge.escalation_due is not None:
        said += (
            f" The person may escalate it to a senior reviewer until "
            f"{challenge.escalation_due:%-d %B %Y}."
        )
    return said


def _set_aside(events: list[AuditEvent]) -> list[str]:
    return [
        f"decision {event.data.get('sets_aside')} was set aside and case {event.target_id} "
        "returned to review, for a reviewer who did not make that decision"
        for event in events
        if event.action == case_actions.CASE_DECISION_SET_ASIDE
    ]


def _cases(events: list[AuditEvent], subject_id: int) -> list[str]:
    """Each case's fate: its re-evaluation's consequence where it was evaluated again, else the
    hold released or kept."""
    fate: dict[int, str] = {}
    for event in events:
        case_id = int(event.target_id)
        if event.action == case_actions.CASE_REEVALUATED:
            fate[case_id] = str(event.data.get("consequence"))
        elif event.action == case_actions.CASE_RELEASED:
            fate.setdefault(case_id, _RELEASED)
        elif event.action == case_actions.CASE_HELD:
            fate.setdefault(case_id, _HELD)
    if not fate:
        return []
    theirs = set(
        Case.objects.filter(pk__in=list(fate), subject_id=subject_id).values_list("pk", flat=True)
    )
    said = [_of_their_case(case_id, fate[case_id]) for case_id in sorted(theirs)]
    others = Counter(fate[case_id] for case_id in fate if case_id not in theirs)
    if others:
        total = sum(others.values())
        counts = ", ".join(
            f"{n} {_COUNTED.get(consequence, consequence)}"
            for consequence, n in sorted(others.items())
        )
        said.append(
            f"{total} case{'s' if total != 1 else ''} of other people resting on the record: "
            f"{counts}"
        )
    return said


def _of_their_case(case_id: int, fate: str) -> str:
    if fate == _RELEASED:
        return f"case {case_id} released from hold: no challenge remains open on it"
    if fate == _HELD:
        return f"case {case_id} stays on hold: another challenge on it is open"
    return f"case {case_id} {_CONSEQUENCE.get(fate, fate)}"
