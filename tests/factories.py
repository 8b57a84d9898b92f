"""factory-boy factories: model rows for set-up, and ingest payloads for the API.

Model factories write rows directly, bypassing the services; use them only to arrange a test's
starting state. What a test exercises goes through the services or the API.
"""

from datetime import UTC, date, datetime, timedelta

import factory
from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.db import transaction

from audit import log
from audit.actors import system_actor
from casework.models import (
    AttachedVia,
    Case,
    CaseFlag,
    CaseStatus,
    Notification,
    NotificationKind,
    PolicyStatus,
    ThresholdPolicy,
)
from casework.thresholds import CandidateFlag
from flags.models import (
    Category,
    Detector,
    EmploymentType,
    EqualityProfile,
    EvidenceRecord,
    Flag,
    FlagEvidence,
    FlagStatus,
    Rank,
    RecordType,
    Subject,
    WorkingPattern,
)
from tokens.models import ApiToken, TokenKind
from tokens.services import hash_token

# The date tests pin "today" to (see the ``frozen_today`` fixture): threshold windows roll with it.
TODAY = date(2026, 6, 15)
# Noon in London on TODAY (13:00 BST), so the local date is TODAY whatever the time zone.
NOW = datetime(2026, 6, 15, 11, 0, tzinfo=UTC)


# --- model rows ----------------------------------------------------------------------------------


class UserFactory(factory.django.DjangoModelFactory[User]):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"user.{n}")


class SubjectFactory(factory.django.DjangoModelFactory[Subject]):
    class Meta:
        model = Subject

    staff_number = factory.Sequence(lambda n: f"{100000 + n}")
    name = factory.Faker("name", locale="en_GB")
    rank = Rank.CONSTABLE
    role = "Response officer"
    unit = "North Response"
    working_pattern = WorkingPattern.FULL_TIME
    employment_type = EmploymentType.OFFICER


class InactiveSubjectFactory(SubjectFactory):
    active = False


class EqualityProfileFactory(factory.django.DjangoModelFactory[EqualityProfile]):
    class Meta:
        model = EqualityProfile

    subject = factory.SubFactory(SubjectFactory)


class DetectorFactory(factory.django.DjangoModelFactory[Detector]):
    """A detector and its service user, named ``detector.<slug>`` as the service names it."""

    class Meta:
        model = Detector

    slug = factory.Sequence(lambda n: f"detector-{n}")
    name = factory.LazyAttribute(lambda o: f"Detector {o.slug}")
    current_version = "1.0.0"
    user = factory.SubFactory(
        UserFactory, username=factory.LazyAttribute(lambda u: f"detector.{u.factory_parent.slug}")
    )


class InactiveDetectorFactory(DetectorFactory):
    active = False


class ApiTokenFactory(factory.django.DjangoModelFactory[ApiToken]):
    """A token row for a known plain token: pass ``token=`` to authenticate with it."""

    class Meta:
        model = ApiToken
        abstract = True

    token_hash = factory.LazyAttribute(lambda o: hash_token(o.token))
    prefix = factory.LazyAttribute(lambda o: o.token[:12])
    created_at = factory.LazyFunction(lambda: datetime.now(UTC))
    expires_at = factory.LazyAttribute(lambda o: o.created_at + timedelta(days=90))


class PersonalTokenFactory(ApiTokenFactory):
    class Params:
        token = factory.Sequence(lambda n: f"spt_test-token-{n:06d}")

    user = factory.SubFactory(UserFactory)
    kind = TokenKind.PERSON


class DetectorTokenFactory(ApiTokenFactory):
    """A detector's token: pass ``detector=`` to choose whose."""

    class Params:
        token = factory.Sequence(lambda n: f"sdt_test-token-{n:06d}")
        detector = factory.SubFactory(DetectorFactory)

    user = factory.LazyAttribute(lambda o: o.detector.user)
    kind = TokenKind.DETECTOR


class RevokedDetectorTokenFactory(DetectorTokenFactory):
    revoked_at = factory.LazyFunction(lambda: datetime.now(UTC) - timedelta(minutes=1))


class ExpiredDetectorTokenFactory(DetectorTokenFactory):
    created_at = factory.LazyFunction(lambda: datetime.now(UTC) - timedelta(days=400))
    expires_at = factory.LazyAttribute(lambda o: datetime.now(UTC) - timedelta(minutes=1))


class EvidenceRecordFactory(factory.django.DjangoModelFactory[EvidenceRecord]):
    class Meta:
        model = EvidenceRecord

    source_system = "payroll"
    record_type = RecordType.OVERTIME
    record_id = factory.Sequence(lambda n: f"OT-ROW-{n:06d}")
    occurred_at = datetime(2026, 5, 14, 18, 0, tzinfo=UTC)
    summary = "Overtime claim, 9.5 hours"
    payload = factory.Dict({"hours": 9.5})
    content_hash = "0" * 64
    received_at = NOW


class FlagFactory(factory.django.DjangoModelFactory[Flag]):
    """An active flag whose window ended ``ended_days_ago`` days before TODAY."""

    class Meta:
        model = Flag

    class Params:
        ended_days_ago = 14

    detector = factory.SubFactory(DetectorFactory)
    external_id = factory.Sequence(lambda n: f"row-{n:06d}")
    detector_version = "1.0.0"
    subject = factory.SubFactory(SubjectFactory)
    category = Category.OVERTIME_FRAUD
    rule = "overtime.peer_zscore"
    score = 0.7
    explanation = "Claims far above peers."
    window_end = factory.LazyAttribute(lambda o: TODAY - timedelta(days=o.ended_days_ago))
    window_start = factory.LazyAttribute(lambda o: o.window_end - timedelta(days=30))
    content_hash = "0" * 64
    received_at = NOW
    status = FlagStatus.ACTIVE


class WithdrawnFlagFactory(FlagFactory):
    status = FlagStatus.WITHDRAWN


class ExpiredFlagFactory(FlagFactory):
    status = FlagStatus.EXPIRED


class CaseFactory(factory.django.DjangoModelFactory[Case]):
    """An open case under the active policy, resting on one flag with one evidence record.

    For arranging a starting state only: cases open through the threshold evaluation, and move
    through ``casework.services.act_on_case``.
    """

    class Meta:
        model = Case
        skip_postgeneration_save = True

    subject = factory.SubFactory(SubjectFactory)
    status = CaseStatus.OPEN
    policy = factory.LazyFunction(lambda: ThresholdPolicy.objects.get(status=PolicyStatus.ACTIVE))
    trace = factory.Dict({"categories": []})
    opened_at = NOW
    opened_by = factory.LazyFunction(lambda: system_actor().user)
    status_changed_at = NOW
    due_on = TODAY + timedelta(days=28)

    @factory.post_generation
    def with_flag(obj: Case, create: bool, extracted: bool | None, **kwargs: object) -> None:
        if not create or extracted is False:
            return
        flag = FlagFactory.create(subject=obj.subject)
        evidence = EvidenceRecordFactory.create(content_hash=f"{obj.subject.pk:064d}")
        link = FlagEvidence.objects.create(flag=flag, evidence=evidence, position=0)
        attached = CaseFlag.objects.create(
            case=obj, flag=flag, attached_at=NOW, via=AttachedVia.OPENING, category=flag.category
        )
        record_links(flag, [link], obj, [attached])
        Notification.objects.create(
            subject=obj.subject,
            case=obj,
            kind=NotificationKind.CASE_OPENED,
            created_at=NOW,
            due_at=NOW + timedelta(hours=24),
        )


def record_links(
    flag: Flag, evidence: list[FlagEvidence], case: Case | None, attached: list[CaseFlag]
) -> None:
    """Record arranged links in the audit log as ingest and case opening record theirs (the ids
    and the hash of the rows), so that verify_audit finds the arranged state consistent."""
    entries = [
        log.Entry(
            "flag.received",
            flag,
            data={"flag_evidence": [e.pk for e in evidence], "row_hash": log.row_hash(evidence)},
            reason="arranged by a test",
        )
    ]
    if case is not None:
        entries.append(
            log.Entry(
                "case.flags_attached",
                case,
                data={"case_flags": [a.pk for a in attached], "row_hash": log.row_hash(attached)},
                reason="arranged by a test",
            )
        )
    with transaction.atomic():
        log.record_many(entries, actor=system_actor())


class InReviewCaseFactory(CaseFactory):
    status = CaseStatus.IN_REVIEW


# --- ingest payloads (what a detector posts) -----------------------------------------------------


class EvidenceItemFactory(factory.DictFactory):
    source_system = "payroll"
    record_type = "overtime"
    record_id = factory.Sequence(lambda n: f"OT-{n:06d}")
    occurred_at = "2026-05-14T18:00:00Z"
    summary = "Overtime claim, 9.5 hours"
    payload = factory.Dict({"hours": 9.5})


class FlagItemFactory(factory.DictFactory):
    """One valid flag for the ingest API; its window ends ``ended_days_ago`` days before ``today``.

    ``subject`` defaults to a new subject's staff number, so the database must be available.
    """

    class Params:
        ended_days_ago = 14
        today = TODAY

    external_id = factory.Sequence(lambda n: f"ext-{n:06d}")
    subject = factory.LazyFunction(lambda: SubjectFactory.create().staff_number)
    category = "overtime_fraud"
    rule = "overtime.peer_zscore"
    detector_version = "1.0.0"
    score = 0.7
    explanation = "Claimed far more overtime than unit-and-role peers."
    factors = factory.List([factory.Dict({"name": "peer_z", "value": 4.2, "weight": 0.8})])
    window = factory.LazyAttribute(
        lambda o: {
            "start": (o.today - timedelta(days=o.ended_days_ago + 30)).isoformat(),
            "end": (o.today - timedelta(days=o.ended_days_ago)).isoformat(),
        }
    )
    evidence = factory.List([factory.SubFactory(EvidenceItemFactory)])


class StrongFlagItemFactory(FlagItemFactory):
    """Overtime at 0.95: under the default policy one such flag opens a case by itself."""

    score = 0.95


class WeakFlagItemFactory(FlagItemFactory):
    """Overtime at 0.3: below the default policy's minimum score, so it never counts."""

    score = 0.3


# --- threshold evaluation ------------------------------------------------------------------------


class CandidateFlagFactory(factory.Factory[CandidateFlag]):
    class Meta:
        model = CandidateFlag

    class Params:
        ended_days_ago = 14

    id = factory.Sequence(lambda n: n + 1)
    detector = "overtime"
    external_id = factory.Sequence(lambda n: f"ext-{n:06d}")
    category = "overtime_fraud"
    score = 0.7
    window_end = factory.LazyAttribute(lambda o: TODAY - timedelta(days=o.ended_days_ago))
