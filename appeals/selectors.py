"""Reads of a person's own record, as they or their representative may see it, and of the
challenges a data steward or a senior reviewer works on. Every read here already applies the
rules: what a viewer may not see is answered exactly as what does not exist.

Two rules hold everywhere. A case whose opening notice has not been sent (a deferral) does not
exist for the person it is about, nor for their representative, until it is sent: not its flags,
not its decisions, not the views of it in the access log. And nothing of any other person appears:
every query starts from the one subject in scope.
"""

from dataclasses import dataclass, field
from datetime import datetime

from django.contrib.auth.models import User
from django.db.models import Exists, OuterRef, Prefetch, Q, QuerySet
from django.utils import timezone

from accounts.roles import role_of
from appeals.errors import AppealNotFound
from appeals.models import (
    OPEN_CHALLENGE_STATUSES,
    Challenge,
    ChallengeAttachment,
    Representation,
    RepresentationStatus,
)
from audit.actors import Actor, Role
from audit.models import AccessEvent
from casework.conflicts import conflict_for_request, conflict_scope
from casework.models import (
    CHALLENGEABLE_DECISIONS,
    REVIEWERS,
    Case,
    CaseFlag,
    CaseStatus,
    Decision,
    Notification,
    NotificationKind,
    ReferralResult,
)
from casework.selectors import cases_visible_to
from flags.models import EvidenceRecord, Flag, FlagEvidence, Subject

NO_SUCH_RECORD = "There is no record that you may see."


def own_subject(user: User) -> Subject | None:
    """The register entry that is ``user``'s own record, if their account is linked to one."""
    if not user.is_authenticated:
        return None
    return Subject.objects.filter(user=user).first()


def live_grants(representative: User, now: datetime | None = None) -> QuerySet[Representation]:
    """The representative's grants that are accepted and not past their expiry, at this moment:
    an expiry takes effect when it falls, whether or not the sweep has recorded it yet."""
    return Representation.objects.filter(
        representative=representative,
        status=RepresentationStatus.ACTIVE,
        expires_at__gt=now or timezone.now(),
    ).select_related("subject", "subject__user", "case", "representative", "granted_by")


def represented_subjects(representative: User) -> list[Subject]:
    """The subjects whose live grants the representative holds, each once, by staff number."""
    subjects = {grant.subject_id: grant.subject for grant in live_grants(representative)}
    return sorted(subjects.values(), key=lambda subject: subject.staff_number)


@dataclass(frozen=True)
class RecordScope:
    """What one viewer may see of one person's record, and as whom they act on it.

    ``actor`` is the person themselves, or their representative acting on their behalf.
    ``case_ids`` are the cases shown: the person's cases they have been told of, narrowed to the
    granted case for a one-case grant, in which event ``whole_record`` is False and only what
    concerns that case is shown.
    """

    subject: Subject
    actor: Actor
    case_ids: frozenset[int]
    hidden_case_ids: frozenset[int]
    whole_record: bool
    grants: tuple[Representation, ...] = field(default=())

    @property
    def is_own(self) -> bool:
        return self.actor.on_behalf_of is None

    def covers_case(self, case_id: int | None) -> bool:
        if case_id is None:
            return self.whole_record
        return case_id in self.case_ids


def scope_for(user: User, subject_id: int | None = None) -> RecordScope:
    """The scope in which ``user`` sees the record of subject ``subject_id`` (their own when
    None). AppealNotFound, in the same words, where there is no such record or they may not see
    it: another person's record without a live grant, an expired, pending or revoked grant."""
    role = role_of(user)
    own = own_subject(user)
    if role is None:
        raise AppealNotFound(NO_SUCH_RECORD)
    if own is not None and subject_id in (None, own.pk):
        return _scope(own, Actor(user=user, role=role), grants=())
    if role != Role.REPRESENTATIVE or subject_id is None:
        raise AppealNotFound(NO_SUCH_RECORD)
    grants = tuple(live_grants(user).filter(subject_id=subject_id))
    if not grants or grants[0].subject.user is None:
        raise AppealNotFound(NO_SUCH_RECORD)
    subject = grants[0].subject
    return _scope(subject, Actor(user=user, role=role, on_behalf_of=subject.user), grants=grants)


def subject_view(subject: Subject, actor: Actor) -> RecordScope:
    """The person's whole record as they see it themselves (the cases they have been told of),
    read by ``actor``: a reviewer preparing the person's disclosure pack."""
    return _scope(subject, actor, grants=())


def _scope(subject: Subject, actor: Actor, *, grants: tuple[Representation, ...]) -> RecordScope:
    told = told_case_ids(subject.pk)
    every = set(Case.objects.filter(subject=subject).values_list("pk", flat=True))
    whole = not grants or any(grant.case_id is None for grant in grants)
    shown = told if whole else told & {grant.case_id for grant in grants if grant.case_id}
    return RecordScope(
        subject=subject,
        actor=actor,
        case_ids=frozenset(shown),
        hidden_case_ids=frozenset(every - told),
        whole_record=whole,
        grants=grants,
    )


def told_case_ids(subject_id: int) -> set[int]:
    """The person's cases they have been told of: the opening notice was sent. A deferred case is
    not among them until its deferral ends and the notice goes."""
    told = Notification.objects.filter(
        case=OuterRef("pk"), kind=NotificationKind.CASE_OPENED, sent_at__isnull=False
    )
    return set(
        Case.objects.filter(subject_id=subject_id).filter(Exists(told)).values_list("pk", flat=True)
    )


# ---------------------------------------------------------------------------------------------
# The record itself.


def flags_in_scope(scope: RecordScope) -> QuerySet[Flag]:
    """The person's flags the viewer may see: none attached to a case they have not been told of,
    and, for a one-case grant, only the granted case's."""
    flags = Flag.objects.filter(subject=scope.subject)
    hidden = CaseFlag.objects.filter(flag=OuterRef("pk"), case_id__in=scope.hidden_case_ids)
    flags = flags.exclude(Exists(hidden))
    if not scope.whole_record:
        flags = flags.filter(case_links__case_id__in=scope.case_ids)
    return flags.distinct()


def flags_with_evidence(scope: RecordScope) -> list[Flag]:
    return list(
        flags_in_scope(scope)
        .select_related("detector")
        .prefetch_related(
            Prefetch(
                "flagevidence_set",
                queryset=FlagEvidence.objects.select_related("evidence").order_by("position"),
            ),
            Prefetch("case_links", queryset=CaseFlag.objects.only("case_id", "flag_id")),
        )
        .order_by("-received_at", "-pk")
    )


def cases_in_scope(scope: RecordScope) -> list[Case]:
    return list(
        Case.objects.filter(pk__in=scope.case_ids)
        .select_related("policy")
        .prefetch_related(
            # Every result recorded for the case's referrals: with the decisions, which say which
            # referral stands (casework.selectors.split_referral_results).
            Prefetch(
                "referral_results",
                queryset=ReferralResult.objects.select_related("recorded_by", "on_behalf_of"),
            ),
            Prefetch(
                "decisions",
                queryset=Decision.objects.select_related(
                    "made_by", "on_behalf_of", "sets_aside"
                ).order_by("made_at", "pk"),
            ),
            Prefetch(
                "notifications",
                queryset=Notification.objects.filter(sent_at__isnull=False).order_by("sent_at"),
            ),
            "reevaluations",
        )
        .order_by("-opened_at", "-pk")
    )


# What a challenge is shown with, wherever it is read: the people named on it and what it is about.
CHALLENGE_RELATED = (
    "subject",
    "subject__user",
    "evidence",
    "decision",
    "decision__made_by",
    "case",
    "filed_by",
    "on_behalf_of",
    "adjudicator",
    "escalated_by",
    "escalation_taken_by",
)


def challenges_in_scope(scope: RecordScope) -> list[Challenge]:
    return list(
        _challenges_of(scope)
        .select_related(*CHALLENGE_RELATED)
        .prefetch_related(
            Prefetch("attachments", queryset=ChallengeAttachment.objects.order_by("position"))
        )
        .order_by("-filed_at", "-pk")
    )


def _challenges_of(scope: RecordScope) -> QuerySet[Challenge]:
    challenges = Challenge.objects.filter(subject=scope.subject)
    if scope.whole_record:
        # A challenge filed from a case later hidden cannot exist (a hidden case is not shown to
        # challenge), but the rule is kept here too.
        return challenges.exclude(case_id__in=scope.hidden_case_ids)
    return challenges.filter(case_id__in=scope.case_ids)


def challenge_in_scope(scope: RecordScope, challenge_id: int) -> Challenge:
    challenge = (
        _challenges_of(scope).select_related(*CHALLENGE_RELATED).filter(pk=challenge_id).first()
    )
    if challenge is None:
        raise AppealNotFound(no_such_challenge(challenge_id))
    return challenge


def no_such_challenge(challenge_id: int) -> str:
    return f"There is no challenge {challenge_id} that you may see."


# How a download of a person's disclosure pack is written to their access log (reports.services):
# against the report. A case file's download is written against its case, as the case's views are.
DISCLOSURE_PACK_OBJECT_TYPE = "reports.report"


def access_log(scope: RecordScope) -> QuerySet[AccessEvent]:
    """Who viewed the person's record, newest first: never a view of a case they have not been
    told of (a case file's download among them); for a one-case grant, only the views of that
    case and its challenges.

    While any of their cases is hidden from them, no one else's download of their disclosure
    pack is shown either (a reviewer's, of the record as the person sees it): that someone is
    reading their record now is what the deferral keeps from them. Their own downloads, and
    their representative's, are shown. Once the case is told of, all of it is."""
    events = AccessEvent.objects.filter(subject_id=scope.subject.pk)
    hidden = [str(pk) for pk in scope.hidden_case_ids]
    if hidden:
        events = events.exclude(object_type="casework.case", object_id__in=hidden)
        others = Q(object_type=DISCLOSURE_PACK_OBJECT_TYPE)
        person = scope.subject.user_id
        if person is not None:
            others &= ~Q(user_id=person) & ~Q(on_behalf_of_user_id=person)
        events = events.exclude(others)
    if not scope.whole_record:
        challenge_ids = [str(pk) for pk in _challenges_of(scope).values_list("pk", flat=True)]
        events = events.filter(
            Q(object_type="casework.case", object_id__in=[str(pk) for pk in scope.case_ids])
            | Q(object_type="appeals.challenge", object_id__in=challenge_ids)
        )
    return events.order_by("-occurred_at", "-pk")


def grants_of(subject: Subject) -> list[Representation]:
    """Every grant the person made, newest first (shown to the person themselves only)."""
    return list(
        Representation.objects.filter(subject=subject)
        .select_related("subject", "representative", "case", "granted_by", "ended_by")
        .order_by("-granted_at", "-pk")
    )


def representative_usernames() -> list[str]:
    """The registered representatives a person may appoint, by username."""
    return list(
        User.objects.filter(is_active=True, groups__name=Role.REPRESENTATIVE)
        .order_by("username")
        .values_list("username", flat=True)
    )


# ---------------------------------------------------------------------------------------------
# What may be challenged.


def challengeable_evidence(scope: RecordScope, evidence_id: int) -> EvidenceRecord:
    """An evidence record under one of the person's flags the viewer may see, or AppealNotFound."""
    record = EvidenceRecord.objects.filter(pk=evidence_id, flags__in=flags_in_scope(scope)).first()
    if record is None:
        raise AppealNotFound(f"There is no evidence record {evidence_id} that you may challenge.")
    return record


def case_of_evidence(scope: RecordScope, evidence_id: int) -> int | None:
    """The most recent case in scope whose flags rest on the record, if any."""
    return (
        CaseFlag.objects.filter(case_id__in=scope.case_ids, flag__evidence=evidence_id)
        .order_by("-case__opened_at", "-case_id")
        .values_list("case_id", flat=True)
        .first()
    )


def challengeable_decision(scope: RecordScope, decision_id: int) -> Decision:
    """A recommendation or signature on a case in scope that has not been set aside and whose case
    was not withdrawn, or AppealNotFound."""
    decision = (
        Decision.objects.filter(
            pk=decision_id,
            case_id__in=scope.case_ids,
            kind__in=list(CHALLENGEABLE_DECISIONS),
        )
        .exclude(case__status=CaseStatus.WITHDRAWN)
        .select_related("case")
        .first()
    )
    if decision is None or decision.set_aside_by.exists():
        raise AppealNotFound(f"There is no decision {decision_id} that you may challenge.")
    return decision


def open_challenge_on(
    *, evidence_id: int | None = None, decision_id: int | None = None
) -> Challenge | None:
    challenges = Challenge.objects.filter(status__in=OPEN_CHALLENGE_STATUSES)
    if evidence_id is not None:
        return challenges.filter(evidence_id=evidence_id).first()
    if decision_id is not None:
        return challenges.filter(decision_id=decision_id).first()
    return None


def cases_with_open_decision_challenges(case_ids: list[int]) -> set[int]:
    """Registered with casework at start-up: the cases among ``case_ids`` on which a challenge to
    one of their decisions is open (challenges to evidence show as disputed records)."""
    return set(
        Challenge.objects.filter(
            case_id__in=case_ids,
            decision__isnull=False,
            status__in=OPEN_CHALLENGE_STATUSES,
        ).values_list("case_id", flat=True)
    )


# ---------------------------------------------------------------------------------------------
# The whole record, as the pages and the API show it.

ACCESS_LOG_PAGE_SIZE = 25


@dataclass(frozen=True)
class SubjectRecord:
    """Everything the viewer may see of one person's record, read in a fixed number of queries
    (the access log is a query set, for the caller to page)."""

    scope: RecordScope
    flags: list[Flag]
    cases: list[Case]
    challenges: list[Challenge]
    notices: list[Notification]
    grants: list[Representation]
    access_log: QuerySet[AccessEvent]


def subject_record(scope: RecordScope) -> SubjectRecord:
    cases = cases_in_scope(scope)
    return SubjectRecord(
        scope=scope,
        flags=flags_with_evidence(scope),
        cases=cases,
        challenges=challenges_in_scope(scope),
        notices=sorted(
            (notice for case in cases for notice in case.notifications.all()),
            key=lambda notice: (notice.sent_at or notice.created_at, notice.pk),
            reverse=True,
        ),
        # Whom the person appointed is theirs to see; a representative sees their own grants.
        grants=grants_of(scope.subject) if scope.is_own else list(scope.grants),
        access_log=access_log(scope),
    )


def challenge_for(user: User, challenge_id: int) -> Challenge:
    """One challenge as ``user`` may see it, whoever they are: the person or their representative
    (in scope), a data steward who passes the conflict check for the person, a senior reviewer
    for an escalated one (the same check), a reviewer who may see the case it was filed from.
    AppealNotFound, in the same words as a missing one, for anyone else."""
    role = role_of(user)
    challenge = Challenge.objects.select_related(*CHALLENGE_RELATED).filter(pk=challenge_id).first()
    if challenge is None or role is None:
        raise AppealNotFound(no_such_challenge(challenge_id))
    if _may_see_challenge(user, role, challenge):
        return challenge
    raise AppealNotFound(no_such_challenge(challenge_id))


def _may_see_challenge(user: User, role: Role, challenge: Challenge) -> bool:
    own = own_subject(user)
    if own is not None and own.pk == challenge.subject_id:
        return challenge.case_id is None or challenge.case_id in told_case_ids(own.pk)
    if role == Role.REPRESENTATIVE:
        try:
            scope = scope_for(user, challenge.subject_id)
        except AppealNotFound:
            return False
        return _challenges_of(scope).filter(pk=challenge.pk).exists()
    passes = conflict_for_request(user, challenge.subject).passes
    if role == Role.DATA_STEWARD:
        return passes
    if role == Role.SENIOR_REVIEWER and challenge.escalated_at is not None and passes:
        return True
    if role in REVIEWERS and challenge.case_id is not None:
        return cases_visible_to(user).filter(pk=challenge.case_id).exists() and passes
    return False


def steward_queue(user: User) -> QuerySet[Challenge]:
    """The challenges a data steward may take or decide: every one whose person they pass the
    conflict check for, open ones first by the date their decision is due."""
    if role_of(user) != Role.DATA_STEWARD:
        return Challenge.objects.none()
    excluded = conflict_scope(user)
    if excluded is None:
        return Challenge.objects.none()
    return Challenge.objects.exclude(subject_id__in=excluded).select_related(*CHALLENGE_RELATED)


def escalation_queue(user: User) -> QuerySet[Challenge]:
    """The escalated challenges a senior reviewer may see (the conflict check passes); whether
    they took part, and so may not decide one, is said on each."""
    if role_of(user) != Role.SENIOR_REVIEWER:
        return Challenge.objects.none()
    excluded = conflict_scope(user)
    if excluded is None:
        return Challenge.objects.none()
    return (
        Challenge.objects.filter(escalated_at__isnull=False)
        .exclude(subject_id__in=excluded)
        .select_related(*CHALLENGE_RELATED)
    )
