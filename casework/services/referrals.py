"""The result of a referral: what the investigating body concluded about a referred case,
recorded afterwards by a senior reviewer.

Until then a referral ends what Scrutiny knows of the case; with it, the figures can say whether
the case was a lead that was confirmed, one that was wrong, or one the body withdrew
(``casework.outcomes``). One result per referral, insert-only, and never rewritten: a case
referred again after an upheld challenge set its referral aside has the new referral's result
recorded beside the old one, which stays, as history.

``record_referral_result`` is the one door. It locks the case, checks the workflow's row for the
action (``workflow.allowed``: the conflict check, a senior reviewer, a referred case with no
result yet for the referral that stands), the recorder's fresh declaration of no conflict, the
result, the day the body concluded and the reasons; then writes the result, the notice to the
subject (only if they have been told of the case) and the audit event, in one transaction.
Refused, it raises a CaseActionError and writes nothing.
"""

from dataclasses import dataclass
from datetime import date

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from audit import log
from audit.actors import Actor, Role
from audit.chain import sha256_hex
from casework import audit_actions, selectors
from casework.models import (
    Case,
    Decision,
    NotificationKind,
    ReferralResult,
    ReferralResultKind,
)
from casework.services.notices import notify_if_told
from casework.workflow import Action, InvalidDecision, TransitionRefused, allowed

NUL = "\x00"


@dataclass(frozen=True)
class ReferralResultRequest:
    """A referral's result, as the case page's form and the API collect it."""

    result: str
    concluded_on: date | None
    reasons: str
    no_conflict_declared: bool = False


def record_referral_result(
    case_id: int, request: ReferralResultRequest, *, actor: Actor
) -> ReferralResult:
    """Record what the investigating body concluded about referred case ``case_id``."""
    with transaction.atomic():
        case = (
            Case.objects.select_for_update(of=("self",))
            .select_related("subject", "policy")
            .filter(pk=case_id)
            .first()
        )
        if case is None:
            raise TransitionRefused(f"There is no case {case_id}.")
        allowed(case, Action.RECORD_REFERRAL_RESULT, actor)
        referral = selectors.standing_referral(case)
        if referral is None:  # the row's guard checked it; this is under the lock
            raise TransitionRefused("No referral signature is on record for this case.")
        kind, concluded_on = _checked(request, referral, actor)
        row = ReferralResult(
            case=case,
            referral=referral,
            result=kind,
            concluded_on=concluded_on,
            reasons=request.reasons.strip(),
            recorded_at=timezone.now(),
            recorded_by=actor.user,
            role=actor.role,
            on_behalf_of=actor.on_behalf_of,
            # Required of a person by _checked; only a senior reviewer records a result.
            no_conflict_declared=True,
        )
        row.save()
        notices = notify_if_told(case, NotificationKind.REFERRAL_CONCLUDED)
        log.record_many([*notices, result_entry(case, row)], actor=actor)
    return row


def result_entry(case: Case, row: ReferralResult) -> log.Entry:
    """The audit event recording ``row``: its id and the hash of its row, and what was found,
    but not the reasons' words (only their hash)."""
    return log.Entry(
        audit_actions.CASE_REFERRAL_RESULT_RECORDED,
        case,
        data={
            "referral_result": row.pk,
            "referral": row.referral_id,
            "result": row.result,
            "concluded_on": row.concluded_on.isoformat(),
            "reasons_hash": sha256_hex(row.reasons.encode("utf-8")),
            "no_conflict_declared": row.no_conflict_declared,
            "row_hash": log.row_hash(row),
        },
        reason="referral result recorded",
    )


def _checked(
    request: ReferralResultRequest, referral: Decision, actor: Actor
) -> tuple[ReferralResultKind, date]:
    """The result and the day asked for, or InvalidDecision naming every problem with what was
    written."""
    problems: dict[str, str] = {}
    kind = None
    if not request.result:
        problems["result"] = "Choose the result the investigating body reached."
    else:
        try:
            kind = ReferralResultKind(request.result)
        except ValueError:
            problems["result"] = f"{request.result!r} is not a result of a referral."
    date_problem = _date_problem(request.concluded_on, referral)
    if date_problem:
        problems["concluded_on"] = date_problem
    minimum = settings.DECISION_RATIONALE_MIN_CHARS
    if NUL in request.reasons:
        problems["reasons"] = "The reasons contain a NUL character: remove it."
    elif len(request.reasons.strip()) < minimum:
        problems["reasons"] = f"Give the reasons in at least {minimum} characters."
    if actor.role != Role.SYSTEM and not request.no_conflict_declared:
        problems["no_conflict_declared"] = (
            "Declare that you have no conflict of interest with the person this case is about."
        )
    if problems or kind is None or request.concluded_on is None:
        raise InvalidDecision.about(problems)
    return kind, request.concluded_on


def _date_problem(concluded_on: date | None, referral: Decision) -> str:
    if concluded_on is None:
        return "Give the day the investigating body concluded."
    today = timezone.localdate()
    signed = timezone.localdate(referral.made_at)
    if concluded_on > today:
        return "The day the investigating body concluded cannot be in the future."
    if concluded_on < signed:
        return (
            "The investigating body cannot have concluded before the referral was signed, on "
            f"{signed:%-d %B %Y}."
        )
    return ""
