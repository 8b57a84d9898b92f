"""Challenges: filed by the person a record is about (or their representative, on their behalf),
acknowledged and decided by a data steward who passes the conflict check, escalated at most once
to a senior reviewer who took no part in the case or the challenge, whose decision is final.

Every step runs in one transaction with its audit events and its notices to the person and their
representatives. What a step does to the data and the cases it rests on is done in the same
transaction, through the doors of the apps that own them:

- filing disputes the record (``flags.corrections``) and holds every live case resting on it, or
  the case whose decision is challenged (``casework.services.reevaluation``): no outcome can be
  signed while the challenge is open;
- an upheld challenge to a record corrects or withdraws it, withdraws every flag left with no
  evidence standing, and evaluates every case resting on it again under the policy it opened
  under: withdrawn if it no longer meets it, released if it does and nothing else is open,
  marked for reconsideration if it had concluded. Each consequence is an audit event naming the
  challenge;
- an upheld challenge to a decision sets the decision aside (``casework.services.set_aside``);
- any other end releases the holds nothing else keeps.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction
from django.utils import timezone

from appeals import audit_actions
from appeals.attachments import (
    AttachmentRefused,
    CheckedUpload,
    PendingFiles,
    atomic_with_files,
    check_uploads,
)
from appeals.deadlines import add_working_days
from appeals.errors import AppealInvalid, AppealNotFound, AppealRefused
from appeals.models import (
    DATA_CHALLENGES,
    AppealNoticeKind,
    Challenge,
    ChallengeAttachment,
    ChallengeKind,
    ChallengeStatus,
    Finding,
    Remedy,
)
from appeals.selectors import (
    case_of_evidence,
    challenge_in_scope,
    challengeable_decision,
    challengeable_evidence,
    no_such_challenge,
    open_challenge_on,
    scope_for,
)
from appeals.services.notices import notify, recipients
from appeals.signals import data_corrected
from audit import log
from audit.actors import Actor, Role, system_actor
from audit.chain import sha256_hex
from audit.history import save_with_history
from casework import selectors as case_selectors
from casework.conflicts import check_conflict
from casework.models import Case, Decision
from casework.services.reevaluation import (
    hold_cases,
    reevaluate_cases,
    release_unchallenged_cases,
)
from casework.services.review import set_aside
from casework.workflow import CaseActionError
from flags import corrections
from flags.ingest_schema import MAX_NESTING, nesting_depth, unstorable_text
from flags.models import EvidenceRecord, EvidenceStatus

# ---------------------------------------------------------------------------------------------
# What the pages and the API collect.


@dataclass(frozen=True)
class ChallengeRequest:
    """A challenge as the person (or their representative) writes it."""

    kind: str
    grounds: str
    evidence: int | None = None
    decision: int | None = None
    proposed_correction: str = ""
    # Whose record: the person's own when None; a representative names the person they act for.
    subject: int | None = None


@dataclass(frozen=True)
class CorrectedContent:
    """What a corrected record says, as the data steward writes it."""

    summary: str
    payload: Mapping[str, Any]
    occurred_at: datetime


@dataclass(frozen=True)
class Adjudication:
    """A data steward's (or, on escalation, a senior reviewer's) decision on a challenge."""

    finding: str
    reasons: str
    remedy: str = Remedy.NONE
    correction: CorrectedContent | None = None
    no_conflict_declared: bool = False


# ---------------------------------------------------------------------------------------------
# Filing.


def file_challenge(
    request: ChallengeRequest, *, actor: Actor, files: Sequence[UploadedFile] = ()
) -> Challenge:
    """File a challenge on the person's record, as themselves or as their representative under a
    live grant that covers it. Refused, with nothing written: a record or decision the filer may
    not see (answered as one that does not exist), a second open challenge on the same record or
    decision, grounds missing, too long or with NUL characters, a refused attachment."""
    problems = _text_problems(request)
    uploads: list[CheckedUpload] = []
    try:
        uploads = check_uploads(files)
    except AttachmentRefused as exc:
        problems["attachments"] = str(exc)
    if problems:
        raise AppealInvalid(problems)
    try:
        # The files are stored before the rows that name them, and removed if this rolls back.
        with atomic_with_files() as stored:
            return _file(request, actor=actor, uploads=uploads, stored=stored)
    except IntegrityError as exc:
        # Two filed at once: the database's one-open-challenge rule refused the second.
        raise AppealRefused(
            "Another challenge to this was filed at the same moment. Nothing was saved; look at "
            "your record and try again."
        ) from exc


def _file(
    request: ChallengeRequest, *, actor: Actor, uploads: list[CheckedUpload], stored: PendingFiles
) -> Challenge:
    scope = scope_for(actor.user, request.subject)
    acting = scope.actor
    now = timezone.now()
    today = timezone.localdate(now)
    challenge = Challenge(
        subject=scope.subject,
        kind=request.kind,
        grounds=request.grounds.strip(),
        proposed_correction=request.proposed_correction.strip(),
        status=ChallengeStatus.SUBMITTED,
        filed_at=now,
        filed_by=acting.user,
        filed_role=acting.role,
        on_behalf_of=acting.on_behalf_of,
        acknowledge_due=add_working_days(today, settings.CHALLENGE_ACKNOWLEDGE_WORKING_DAYS),
        decide_due=add_working_days(today, settings.CHALLENGE_DECIDE_WORKING_DAYS),
    )
    record: EvidenceRecord | None = None
    if request.kind in DATA_CHALLENGES:
        if request.evidence is None:
            raise AppealInvalid.about("evidence", "Choose the evidence record you challenge.")
        challengeable_evidence(scope, request.evidence)
        record = corrections.locked_evidence(request.evidence)
        _no_open_challenge(scope.subject.pk, evidence_id=record.pk)
        if record.status == EvidenceStatus.WITHDRAWN:
            raise AppealRefused(
                "This record has already been withdrawn: no flag or case rests on it any more."
            )
        challenge.evidence = record
        challenge.evidence_status_before = record.status
        challenge.case_id = case_of_evidence(scope, record.pk)
    else:
        if request.decision is None:
            raise AppealInvalid.about("decision", "Choose the decision you challenge.")
        decision = challengeable_decision(scope, request.decision)
        Case.objects.select_for_update().filter(pk=decision.case_id).first()
        _no_open_challenge(scope.subject.pk, decision_id=decision.pk)
        challenge.decision = decision
        challenge.case_id = decision.case_id
    save_with_history(challenge, actor=acting, reason="challenge filed")
    attachments = _store_attachments(challenge, uploads, now, stored)
    cause = {"challenge": challenge.pk}
    entries: list[log.Entry] = []
    if record is not None:
        entries += corrections.dispute_evidence(
            record, actor=acting, cause=f"challenge {challenge.pk}", cause_data=cause
        )
        if challenge.kind == ChallengeKind.LACKS_CONTEXT:
            entries += corrections.record_context(
                record,
                subject_id=scope.subject.pk,
                account=challenge.grounds,
                actor=acting,
                given_with=f"challenge {challenge.pk}",
            )
    held = hold_cases(
        _cases_concerned(challenge),
        actor=system_actor(),
        rationale=f"Challenge {challenge.pk} was filed: no outcome can be signed until it is "
        "resolved.",
        cause=cause,
    )
    notices = notify(
        AppealNoticeKind.CHALLENGE_FILED,
        subject=scope.subject,
        to=recipients(scope.subject, case_id=challenge.case_id),
        challenge=challenge,
    )
    filed = _entry(
        challenge,
        audit_actions.CHALLENGE_FILED,
        notices,
        # Named only when there are some: verify_audit checks the rows an event names.
        attachments=[attachment.pk for attachment in attachments] if attachments else None,
        row_hash=log.row_hash(attachments) if attachments else None,
        grounds_hash=_hash(challenge.grounds),
    )
    log.record_many([*entries, filed], actor=acting)
    log.record_many(held, actor=system_actor())
    return challenge


def _no_open_challenge(
    subject_id: int, *, evidence_id: int | None = None, decision_id: int | None = None
) -> None:
    existing = open_challenge_on(evidence_id=evidence_id, decision_id=decision_id)
    if existing is None:
        return
    if existing.subject_id == subject_id:
        raise AppealRefused(
            f"Challenge {existing.pk} to this is already open: add to it by writing to the data "
            "steward deciding it, or wait for its decision.",
        )
    # Another person's challenge to a shared record: said without saying whose.
    raise AppealRefused(
        "This record is already disputed: a data steward is deciding a challenge to it, and the "
        "decision applies to every flag that rests on it, yours included."
    )


def _store_attachments(
    challenge: Challenge, uploads: list[CheckedUpload], now: datetime, stored: PendingFiles
) -> list[ChallengeAttachment]:
    return ChallengeAttachment.objects.bulk_create(
        [
            ChallengeAttachment(
                challenge=challenge,
                position=position,
                name=upload.name,
                content_type=upload.content_type,
                size=upload.size,
                sha256=upload.sha256,
                stored_name=stored.store(upload, prefix=f"challenges/{challenge.pk}"),
                uploaded_at=now,
            )
            for position, upload in enumerate(uploads, start=1)
        ]
    )


# ---------------------------------------------------------------------------------------------
# The data steward.


def acknowledge_challenge(
    challenge_id: int, *, actor: Actor, no_conflict_declared: bool = False
) -> Challenge:
    """A data steward who passes the conflict check takes a submitted challenge to decide it."""
    with transaction.atomic():
        challenge = _locked_for_steward(challenge_id, actor)
        if challenge.status != ChallengeStatus.SUBMITTED:
            raise AppealRefused(_already(challenge, "taken"))
        if not no_conflict_declared:
            raise AppealInvalid.about("no_conflict_declared", DECLARE)
        challenge.status = ChallengeStatus.ACKNOWLEDGED
        challenge.acknowledged_at = timezone.now()
        challenge.adjudicator = actor.user
        save_with_history(
            challenge,
            actor=actor,
            reason="acknowledged",
            update_fields=["status", "acknowledged_at", "adjudicator"],
        )
        notices = _tell(challenge, AppealNoticeKind.CHALLENGE_ACKNOWLEDGED)
        log.record_many(
            [
                _entry(
                    challenge,
                    audit_actions.CHALLENGE_ACKNOWLEDGED,
                    notices,
                    acknowledged_in_time=challenge.acknowledged_at.date()
                    <= challenge.acknowledge_due,
                )
            ],
            actor=actor,
        )
    return challenge


def decide_challenge(challenge_id: int, adjudication: Adjudication, *, actor: Actor) -> Challenge:
    """The data steward who took the challenge decides it: upheld, partly upheld or rejected,
    with reasons, and what follows (``Remedy``)."""
    with transaction.atomic():
        challenge = _locked_for_steward(challenge_id, actor)
        if challenge.status != ChallengeStatus.ACKNOWLEDGED:
            raise AppealRefused(
                _already(challenge, "decided")
                if challenge.status != ChallengeStatus.SUBMITTED
                else f"Challenge {challenge.pk} must be taken (acknowledged) before it is decided."
            )
        if challenge.adjudicator_id != actor.user_id:
            raise AppealRefused(
                f"Challenge {challenge.pk} was taken by another data steward: only they decide it."
            )
        _check_adjudication(challenge, adjudication)
        now = timezone.now()
        challenge.status = adjudication.finding
        challenge.finding = adjudication.finding
        challenge.reasons = adjudication.reasons.strip()
        challenge.remedy = adjudication.remedy
        challenge.decided_at = now
        if adjudication.finding == Finding.REJECTED:
            challenge.escalation_due = add_working_days(
                timezone.localdate(now), settings.CHALLENGE_ESCALATION_WINDOW_WORKING_DAYS
            )
        save_with_history(
            challenge,
            actor=actor,
            reason=f"decided: {Finding(adjudication.finding).label.lower()}",
            update_fields=[
                "status",
                "finding",
                "reasons",
                "remedy",
                "decided_at",
                "escalation_due",
            ],
        )
        _carry_out(challenge, adjudication, actor=actor)
        notices = _tell(challenge, AppealNoticeKind.CHALLENGE_DECIDED)
        log.record_many(
            [
                _entry(
                    challenge,
                    audit_actions.CHALLENGE_DECIDED,
                    notices,
                    finding=challenge.finding,
                    remedy=challenge.remedy,
                    reasons_hash=_hash(challenge.reasons),
                    decided_in_time=timezone.localdate(now) <= challenge.decide_due,
                )
            ],
            actor=actor,
        )
    return challenge


# ---------------------------------------------------------------------------------------------
# Escalation.


def escalate_challenge(challenge_id: int, *, actor: Actor, grounds: str) -> Challenge:
    """The person (or their representative) escalates a rejected challenge, once, within
    CHALLENGE_ESCALATION_WINDOW_WORKING_DAYS of its rejection, to a senior reviewer."""
    problems = _grounds_problems(grounds, "grounds")
    if problems:
        raise AppealInvalid(problems)
    with transaction.atomic():
        challenge = _locked_in_scope(challenge_id, actor)
        scope = scope_for(actor.user, challenge.subject_id)
        acting = scope.actor
        if challenge.escalated_at is not None:
            raise AppealRefused(
                f"Challenge {challenge.pk} has already been escalated once, and may be escalated "
                "only once."
            )
        if challenge.status != ChallengeStatus.REJECTED:
            raise AppealRefused(
                f"Only a rejected challenge can be escalated; challenge {challenge.pk} is "
                f"{challenge.get_status_display().lower()}."
            )
        today = timezone.localdate()
        assert challenge.escalation_due is not None  # noqa: S101 - set when it was rejected
        if today > challenge.escalation_due:
            window = settings.CHALLENGE_ESCALATION_WINDOW_WORKING_DAYS
            raise AppealRefused(
                f"The time to escalate challenge {challenge.pk} ended on "
                f"{challenge.escalation_due:%-d %B %Y}, {window} working days after its rejection."
            )
        entries: list[log.Entry] = []
        if challenge.evidence_id is not None:
            record = corrections.locked_evidence(challenge.evidence_id)
            _no_open_challenge(challenge.subject_id, evidence_id=record.pk)
            if record.status == EvidenceStatus.WITHDRAWN:
                raise AppealRefused(
                    "The record has since been withdrawn: there is nothing left to decide."
                )
            challenge.evidence_status_before = record.status
            entries += corrections.dispute_evidence(
                record,
                actor=acting,
                cause=f"challenge {challenge.pk} escalated",
                cause_data={"challenge": challenge.pk},
            )
        elif challenge.decision_id is not None:
            _no_open_challenge(challenge.subject_id, decision_id=challenge.decision_id)
        challenge.status = ChallengeStatus.ESCALATED
        challenge.escalated_at = timezone.now()
        challenge.escalated_by = acting.user
        challenge.escalation_grounds = grounds.strip()
        challenge.escalation_decide_due = add_working_days(
            today, settings.CHALLENGE_DECIDE_WORKING_DAYS
        )
        save_with_history(challenge, actor=acting, reason="escalated")
        held = hold_cases(
            _cases_concerned(challenge),
            actor=system_actor(),
            rationale=f"Challenge {challenge.pk} was escalated: no outcome can be signed until "
            "it is decided.",
            cause={"challenge": challenge.pk},
        )
        notices = _tell(challenge, AppealNoticeKind.CHALLENGE_ESCALATED)
        escalated = _entry(
            challenge,
            audit_actions.CHALLENGE_ESCALATED,
            notices,
            grounds_hash=_hash(challenge.escalation_grounds),
        )
        log.record_many([*entries, escalated], actor=acting)
        log.record_many(held, actor=system_actor())
    return challenge


def decide_escalation(challenge_id: int, adjudication: Adjudication, *, actor: Actor) -> Challenge:
    """A senior reviewer who took no part in the case or the challenge decides an escalated
    challenge. Their decision is final in Scrutiny."""
    with transaction.atomic():
        challenge = _locked_for_senior(challenge_id, actor)
        if challenge.status != ChallengeStatus.ESCALATED:
            raise AppealRefused(_already(challenge, "decided on escalation"))
        _check_adjudication(challenge, adjudication)
        now = timezone.now()
        challenge.status = adjudication.finding
        challenge.escalation_finding = adjudication.finding
        challenge.escalation_reasons = adjudication.reasons.strip()
        challenge.escalation_taken_by = actor.user
        challenge.escalation_decided_at = now
        challenge.remedy = adjudication.remedy
        save_with_history(
            challenge,
            actor=actor,
            reason=f"decided on escalation: {Finding(adjudication.finding).label.lower()} (final)",
        )
        _carry_out(challenge, adjudication, actor=actor)
        notices = _tell(challenge, AppealNoticeKind.ESCALATION_DECIDED)
        assert challenge.escalation_decide_due is not None  # noqa: S101 - set on escalation
        log.record_many(
            [
                _entry(
                    challenge,
                    audit_actions.CHALLENGE_ESCALATION_DECIDED,
                    notices,
                    finding=challenge.escalation_finding,
                    remedy=challenge.remedy,
                    reasons_hash=_hash(challenge.escalation_reasons),
                    decided_in_time=timezone.localdate(now) <= challenge.escalation_decide_due,
                    final=True,
                )
            ],
            actor=actor,
        )
    return challenge


# ---------------------------------------------------------------------------------------------
# What a decision on a challenge does.


def _carry_out(challenge: Challenge, adjudication: Adjudication, *, actor: Actor) -> None:
    """Apply the finding's remedy to the data or the decision, and let the cases resting on it
    follow: in the caller's transaction, each consequence its own audit event naming the
    challenge."""
    cause_data = {"challenge": challenge.pk}
    cause = f"challenge {challenge.pk} {Finding(adjudication.finding).label.lower()}"
    system = system_actor()
    entries: list[log.Entry] = []
    consequences: list[log.Entry] = []
    if challenge.evidence_id is not None:
        record = corrections.locked_evidence(challenge.evidence_id)
        changed = adjudication.remedy in (Remedy.CORRECTED, Remedy.WITHDRAWN)
        if adjudication.remedy == Remedy.CORRECTED:
            assert adjudication.correction is not None  # noqa: S101 - checked
            entries += corrections.correct_evidence(
                record,
                summary=adjudication.correction.summary,
                payload=adjudication.correction.payload,
                occurred_at=adjudication.correction.occurred_at,
                actor=actor,
                cause=cause,
                cause_data=cause_data,
            )
        elif adjudication.remedy == Remedy.WITHDRAWN:
            entries += corrections.withdraw_evidence(
                record, actor=actor, cause=cause, cause_data=cause_data
            )
        else:
            entries += corrections.settle_dispute(
                record,
                back_to=challenge.evidence_status_before or EvidenceStatus.AS_RECEIVED,
                actor=actor,
                cause=cause,
                cause_data=cause_data,
            )
        case_ids = case_selectors.cases_resting_on([record.pk])
        if changed:
            _, withdrawn = corrections.withdraw_flags_left_without_evidence(
                [record.pk], actor=system, cause=cause, cause_data=cause_data
            )
            consequences += withdrawn
            consequences += reevaluate_cases(
                case_ids, actor=system, cause=cause, cause_data=cause_data
            ).entries
            consequences += _tell_what_follows(challenge, [record.pk], case_ids, cause, cause_data)
        else:
            consequences += release_unchallenged_cases(
                case_ids,
                actor=system,
                rationale=f"{cause}: no challenge remains open on the case.",
                cause=cause_data,
            )
    elif challenge.case_id is not None and challenge.decision_id is not None:
        if adjudication.remedy == Remedy.SET_ASIDE:
            try:
                set_aside(
                    challenge.case_id,
                    actor=actor,
                    decision_id=challenge.decision_id,
                    rationale=adjudication.reasons,
                    no_conflict_declared=adjudication.no_conflict_declared,
                    cause=cause_data,
                )
            except CaseActionError as exc:
                raise AppealRefused(str(exc)) from exc
            consequences += _tell_what_follows(
                challenge, [], [challenge.case_id], cause, cause_data
            )
            consequences += hold_cases(
                [challenge.case_id],
                actor=system,
                rationale=f"{cause}: another challenge on the case is still open.",
                cause=cause_data,
            )
        else:
            consequences += release_unchallenged_cases(
                [challenge.case_id],
                actor=system,
                rationale=f"{cause}: no challenge remains open on the case.",
                cause=cause_data,
            )
    log.record_many(entries, actor=actor)
    log.record_many(consequences, actor=system)


def _tell_what_follows(
    challenge: Challenge,
    evidence_ids: list[int],
    case_ids: list[int],
    cause: str,
    cause_data: dict[str, Any],
) -> list[log.Entry]:
    """Let what is built on the changed data follow it (reports.receivers), and return their
    audit entries."""
    answers = data_corrected.send(
        sender=Challenge,
        challenge=challenge,
        evidence_ids=evidence_ids,
        case_ids=case_ids,
        cause=cause,
        cause_data=cause_data,
    )
    found: list[log.Entry] = []
    for _receiver, entries in answers:
        if isinstance(entries, list):
            found.extend(entries)
    return found


DECLARE = "Declare that you have no conflict of interest with the person this challenge is about."

# The remedies each finding allows, by kind of challenge.
_REMEDIES: dict[tuple[str, str], frozenset[str]] = {
    **{
        (kind, Finding.UPHELD): frozenset({Remedy.CORRECTED, Remedy.WITHDRAWN})
        for kind in (ChallengeKind.INACCURATE, ChallengeKind.NOT_MINE)
    },
    **{
        (kind, Finding.PARTLY_UPHELD): frozenset({Remedy.NONE, Remedy.CORRECTED, Remedy.WITHDRAWN})
        for kind in (ChallengeKind.INACCURATE, ChallengeKind.NOT_MINE)
    },
    (ChallengeKind.LACKS_CONTEXT, Finding.UPHELD): frozenset({Remedy.NONE, Remedy.CORRECTED}),
    (ChallengeKind.LACKS_CONTEXT, Finding.PARTLY_UPHELD): frozenset(
        {Remedy.NONE, Remedy.CORRECTED}
    ),
    (ChallengeKind.DECISION, Finding.UPHELD): frozenset({Remedy.SET_ASIDE}),
    (ChallengeKind.DECISION, Finding.PARTLY_UPHELD): frozenset({Remedy.NONE, Remedy.SET_ASIDE}),
}


def allowed_remedies(kind: str, finding: str) -> frozenset[str]:
    """The remedies a finding allows on a challenge of ``kind``: nothing changes on a rejection;
    an upheld challenge to a record corrects or withdraws it (a lacks-context one may also leave
    it as it is, its context now beside it); an upheld challenge to a decision sets it aside. An
    unknown finding allows nothing."""
    if finding == Finding.REJECTED:
        return frozenset({Remedy.NONE})
    return _REMEDIES.get((kind, finding), frozenset())


def _check_adjudication(challenge: Challenge, adjudication: Adjudication) -> None:
    problems = adjudication_problems(challenge, adjudication)
    if problems:
        raise AppealInvalid(problems)


def adjudication_problems(challenge: Challenge, adjudication: Adjudication) -> dict[str, str]:
    """What is wrong with a decision on ``challenge``, by field; empty when nothing is. The pages
    ask it too, to show every problem at once beside those of a form's own."""
    problems: dict[str, str] = {}
    if adjudication.finding not in Finding.values:
        problems["finding"] = "Choose upheld, partly upheld or rejected."
    minimum = settings.CHALLENGE_REASONS_MIN_CHARS
    reasons = adjudication.reasons
    if "\x00" in reasons:
        problems["reasons"] = "The reasons contain a NUL character: remove it."
    elif len(reasons.strip()) < minimum:
        problems["reasons"] = f"Give your reasons in at least {minimum} characters."
    elif len(reasons) > settings.CHALLENGE_GROUNDS_MAX_CHARS:
        problems["reasons"] = (
            f"Give your reasons in at most {settings.CHALLENGE_GROUNDS_MAX_CHARS} characters."
        )
    if not adjudication.no_conflict_declared:
        problems["no_conflict_declared"] = DECLARE
    if "finding" not in problems:
        allowed = allowed_remedies(challenge.kind, adjudication.finding)
        if adjudication.remedy not in allowed:
            words = ", ".join(sorted(str(Remedy(r).label).lower() for r in allowed))
            problems["remedy"] = (
                f"A challenge of this kind found {Finding(adjudication.finding).label.lower()} "
                f"allows: {words}."
            )
        elif adjudication.remedy == Remedy.CORRECTED:
            problems.update(_correction_problems(adjudication.correction))
    return problems


def _correction_problems(correction: CorrectedContent | None) -> dict[str, str]:
    if correction is None:
        return {"correction": "Give the corrected record: its summary, its details and its date."}
    problems = {}
    if not correction.summary.strip() or len(correction.summary) > 500:
        problems["corrected_summary"] = "Give the corrected summary, in at most 500 characters."
    elif "\x00" in correction.summary:
        problems["corrected_summary"] = "The summary contains a NUL character: remove it."
    problem = _payload_problem(correction.payload)
    if problem:
        problems["corrected_payload"] = problem
    if timezone.is_naive(correction.occurred_at):
        problems["corrected_occurred_at"] = "Give the date and time with its time zone."
    return problems


def _payload_problem(payload: Any) -> str:
    """What keeps ``payload`` from being stored as a record's details, as ingest refuses it: not
    an object, nested too deeply to walk safely, or holding text no database stores (a NUL)."""
    if not isinstance(payload, Mapping):
        return "The corrected details must be a JSON object."
    if nesting_depth(dict(payload)) > MAX_NESTING:
        return f"The corrected details are nested more than {MAX_NESTING} levels deep."
    found = unstorable_text(dict(payload))
    if found is not None:
        where, what = found
        return f"The corrected details at {where or 'the top level'} {what}: remove it."
    return ""


# ---------------------------------------------------------------------------------------------
# Who may act on which challenge.


def _locked_for_steward(challenge_id: int, actor: Actor) -> Challenge:
    """The challenge, locked, for a data steward who passes the conflict check for its subject;
    AppealNotFound in the same words as a missing one otherwise."""
    challenge = _locked(challenge_id)
    if (
        challenge is None
        or actor.role != Role.DATA_STEWARD
        or not check_conflict(actor.user, challenge.subject).passes
    ):
        raise AppealNotFound(no_such_challenge(challenge_id))
    return challenge


def _locked_for_senior(challenge_id: int, actor: Actor) -> Challenge:
    challenge = _locked(challenge_id)
    if (
        challenge is None
        or actor.role != Role.SENIOR_REVIEWER
        or not check_conflict(actor.user, challenge.subject).passes
    ):
        raise AppealNotFound(no_such_challenge(challenge_id))
    if took_part(actor.user, challenge):
        raise AppealRefused(
            "You took part in this case or this challenge: a senior reviewer who did not must "
            "decide the escalation."
        )
    return challenge


def took_part(user: User, challenge: Challenge) -> bool:
    """Whether ``user`` made a decision on the challenge's case, filed it or decided it."""
    if user.pk in (challenge.filed_by_id, challenge.adjudicator_id):
        return True
    if challenge.case_id is None:
        return False
    return Decision.objects.filter(case_id=challenge.case_id, made_by=user).exists()


def _locked_in_scope(challenge_id: int, actor: Actor) -> Challenge:
    scope = scope_for(actor.user, _subject_of(challenge_id))
    challenge_in_scope(scope, challenge_id)
    challenge = _locked(challenge_id)
    assert challenge is not None  # noqa: S101 - challenge_in_scope found it
    return challenge


def _subject_of(challenge_id: int) -> int:
    subject_id = (
        Challenge.objects.filter(pk=challenge_id).values_list("subject_id", flat=True).first()
    )
    if subject_id is None:
        raise AppealNotFound(no_such_challenge(challenge_id))
    return subject_id


def _locked(challenge_id: int) -> Challenge | None:
    return (
        Challenge.objects.select_for_update(of=("self",))
        .select_related("subject", "subject__user")
        .filter(pk=challenge_id)
        .first()
    )


# ---------------------------------------------------------------------------------------------
# Small shared pieces.


def _cases_concerned(challenge: Challenge) -> list[int]:
    if challenge.evidence_id is not None:
        return case_selectors.cases_resting_on([challenge.evidence_id])
    return [challenge.case_id] if challenge.case_id is not None else []


def _tell(challenge: Challenge, kind: AppealNoticeKind) -> list[Any]:
    return notify(
        kind,
        subject=challenge.subject,
        to=recipients(challenge.subject, case_id=challenge.case_id),
        challenge=challenge,
    )


def _entry(challenge: Challenge, action: str, notices: list[Any], **data: Any) -> log.Entry:
    return log.Entry(
        action,
        challenge,
        data={
            "subject": challenge.subject_id,
            "kind": challenge.kind,
            "evidence": challenge.evidence_id,
            # Not "decision": that key names the decision rows an event records (verify_audit).
            "challenged_decision": challenge.decision_id,
            "case": challenge.case_id,
            "status": challenge.status,
            "notices": [notice.pk for notice in notices],
            **{key: value for key, value in data.items() if value is not None},
        },
        reason=ChallengeStatus(challenge.status).label.lower(),
    )


def _already(challenge: Challenge, step: str) -> str:
    return (
        f"Challenge {challenge.pk} cannot be {step}: it is "
        f"{challenge.get_status_display().lower()}."
    )


def _hash(text: str) -> str:
    return sha256_hex(text.encode("utf-8"))


def _grounds_problems(text: str, field: str) -> dict[str, str]:
    limit = settings.CHALLENGE_GROUNDS_MAX_CHARS
    if "\x00" in text:
        return {field: "The text contains a NUL character: remove it."}
    if not text.strip():
        return {field: "Say why, in your own words."}
    if len(text) > limit:
        return {field: f"Write at most {limit} characters (this is {len(text)})."}
    return {}


def _text_problems(request: ChallengeRequest) -> dict[str, str]:
    problems: dict[str, str] = {}
    if request.kind not in ChallengeKind.values:
        problems["kind"] = "Choose what kind of challenge this is."
    problems.update(_grounds_problems(request.grounds, "grounds"))
    if request.kind == ChallengeKind.INACCURATE:
        problems.update(_grounds_problems(request.proposed_correction, "proposed_correction"))
        if "proposed_correction" in problems and not request.proposed_correction.strip():
            problems["proposed_correction"] = "Say what the record should say."
    elif request.proposed_correction:
        problems.update(_grounds_problems(request.proposed_correction, "proposed_correction"))
    return problems
