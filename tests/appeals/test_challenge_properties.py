"""Random sequences of challenges, adjudications, escalations and review steps by random people,
against the invariants the appeal route promises (Hypothesis stateful testing).

Whatever anyone tries, in any order: no outcome is signed while a challenge is open on the case;
a case is on hold only while a challenge is open on it; a record is disputed exactly while a
challenge to it is open; and no live case stands that would not meet the threshold it opened
under without the records corrected or withdrawn by upheld challenges (every upheld data
challenge is followed through every case resting on the record). The audit chain and the
insert-only rows verify throughout.

The cases open through the real ingest and threshold evaluation: three people, one record shared
by two of them, so a correction reaches more than one person's case.
"""

import itertools
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.db import transaction
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
    run_state_machine_as_test,
)

from accounts.roles import actor_for
from appeals import services
from appeals.errors import AppealError
from appeals.models import OPEN_CHALLENGE_STATUSES, Challenge, Finding, Remedy
from audit.actors import Actor, Role, system_actor
from audit.insert_only import verify_rows
from audit.log import verify_stored_chain
from casework import selectors
from casework.models import (
    CHALLENGEABLE_DECISIONS,
    LIVE_STATUSES,
    Case,
    CaseStatus,
    Decision,
    DecisionKind,
    Outcome,
)
from casework.services import DecisionRequest, act_on_case, send_due_notifications
from casework.workflow import CaseActionError
from flags.models import EvidenceRecord, EvidenceStatus
from flags.services import ingest_flags, register_detector
from tests.appeals.conftest import flagged_subject
from tests.factories import EvidenceItemFactory, FlagItemFactory

pytestmark = pytest.mark.django_db

REVIEWERS = ["rita.reviewer", "ravi.reviewer", "sam.senior", "sue.senior"]
GOOD = "Reasons long enough for every service to accept them, and then some."
REACHED: set[str] = set()


class AppealMachine(RuleBasedStateMachine):
    people: dict[str, User] = {}

    def __init__(self) -> None:
        super().__init__()
        self.atomic = transaction.atomic()
        self.atomic.__enter__()
        self.signed_while_challenged: list[int] = []

    def teardown(self) -> None:
        transaction.set_rollback(True)
        self.atomic.__exit__(None, None, None)

    @initialize()
    def three_people_and_their_cases(self) -> None:
        admin = actor_for(self.people["alan.admin"])
        detector, _ = register_detector(f"overtime-{_fresh()}", name="Overtime", actor=admin)
        self.subjects = [flagged_subject(f"p{_fresh()}-{n}") for n in range(3)]
        shared = EvidenceItemFactory.create(source_system="roster", record_type="roster")
        layout = {
            0: [[EvidenceItemFactory.create()], [EvidenceItemFactory.create()], [shared]],
            1: [[shared], [EvidenceItemFactory.create()]],
            2: [[EvidenceItemFactory.create()], [EvidenceItemFactory.create()]],
        }
        items = [
            FlagItemFactory.create(
                subject=self.subjects[n].subject.staff_number,
                evidence=evidence,
            )
            for n, flags in layout.items()
            for evidence in flags
        ]
        ingest_flags(detector=detector, raw_items=items, actor=_detector_actor(detector))
        send_due_notifications(actor=system_actor())
        self.case_ids = list(
            Case.objects.filter(subject__user__in=self.subjects).values_list("pk", flat=True)
        )
        assert len(self.case_ids) == 3

    # --- the person and their challenges --------------------------------------------------------

    @rule(
        who=st.integers(0, 2),
        pick=st.integers(0, 10),
        kind=st.sampled_from(["inaccurate", "lacks_context", "not_mine"]),
    )
    def a_person_challenges_a_record(self, who: int, pick: int, kind: str) -> None:
        user = self.subjects[who]
        records = list(
            EvidenceRecord.objects.filter(flags__subject__user=user).distinct().order_by("pk")
        )
        if not records:
            return
        record = records[pick % len(records)]
        self._try(
            lambda: services.file_challenge(
                services.ChallengeRequest(
                    kind=kind, evidence=record.pk, grounds=GOOD, proposed_correction="Not so."
                ),
                actor=actor_for(user),
            )
        )

    @rule(who=st.integers(0, 2), pick=st.integers(0, 10))
    def a_person_challenges_a_decision(self, who: int, pick: int) -> None:
        user = self.subjects[who]
        decisions = list(
            Decision.objects.filter(
                case__subject__user=user, kind__in=list(CHALLENGEABLE_DECISIONS)
            ).order_by("pk")
        )
        if not decisions:
            return
        decision = decisions[pick % len(decisions)]
        self._try(
            lambda: services.file_challenge(
                services.ChallengeRequest(kind="decision", decision=decision.pk, grounds=GOOD),
                actor=actor_for(user),
            )
        )

    @rule(pick=st.integers(0, 10))
    def the_steward_acknowledges(self, pick: int) -> None:
        challenge = self._pick(pick, status="submitted")
        if challenge is not None:
            self._try(
                lambda: services.acknowledge_challenge(
                    challenge.pk,
                    actor=actor_for(self.people["dan.steward"]),
                    no_conflict_declared=True,
                )
            )

    @rule(pick=st.integers(0, 10), finding=st.sampled_from(Finding.values), data=st.data())
    def the_steward_decides(self, pick: int, finding: str, data: st.DataObject) -> None:
        challenge = self._pick(pick, status="acknowledged")
        if challenge is not None:
            remedy = self._remedy(challenge, finding, data)
            self._decide(challenge, finding, remedy, "dan.steward", services.decide_challenge)

    @rule(pick=st.integers(0, 10))
    def the_person_escalates(self, pick: int) -> None:
        challenge = self._pick(pick, status="rejected")
        if challenge is not None:
            user = challenge.subject.user
            assert user is not None
            self._try(
                lambda: services.escalate_challenge(
                    challenge.pk, actor=actor_for(user), grounds=GOOD
                )
            )

    @rule(
        pick=st.integers(0, 10),
        senior=st.sampled_from(["sam.senior", "sue.senior"]),
        finding=st.sampled_from(Finding.values),
        data=st.data(),
    )
    def a_senior_decides_the_escalation(
        self, pick: int, senior: str, finding: str, data: st.DataObject
    ) -> None:
        challenge = self._pick(pick, status="escalated")
        if challenge is not None:
            remedy = self._remedy(challenge, finding, data)
            self._decide(challenge, finding, remedy, senior, services.decide_escalation)

    @rule(
        who=st.integers(0, 2),
        pick=st.integers(0, 10),
        kind=st.sampled_from(["inaccurate", "lacks_context", "not_mine", "decision"]),
        finding=st.sampled_from(Finding.values),
        data=st.data(),
    )
    def a_challenge_runs_its_course(
        self, who: int, pick: int, kind: str, finding: str, data: st.DataObject
    ) -> None:
        """Filed, taken and decided in one go, so that sequences reach decisions often; the
        random steps around it move the cases, and challenge or decide other things first."""
        before = Challenge.objects.count()
        if kind == "decision":
            self.a_person_challenges_a_decision(who, pick)
        else:
            self.a_person_challenges_a_record(who, pick, kind)
        if Challenge.objects.count() == before:
            return
        challenge = Challenge.objects.latest("pk")
        self._try(
            lambda: services.acknowledge_challenge(
                challenge.pk, actor=actor_for(self.people["dan.steward"]), no_conflict_declared=True
            )
        )
        remedy = self._remedy(challenge, finding, data)
        self._decide(challenge, finding, remedy, "dan.steward", services.decide_challenge)

    # --- the reviewers ---------------------------------------------------------------------------

    @rule(
        case=st.integers(0, 2),
        who=st.sampled_from(REVIEWERS),
        action=st.sampled_from(
            ["start_review", "recommend", "sign_off", "sign_referral", "return_for_correction"]
        ),
        outcome=st.sampled_from(Outcome.values),
    )
    def a_reviewer_acts(self, case: int, who: str, action: str, outcome: str) -> None:
        case_id = self.case_ids[case]
        current = Case.objects.get(pk=case_id)
        if action in ("sign_off", "sign_referral"):
            outcome = current.recommended_outcome or outcome
        challenged = bool(selectors.cases_with_open_challenges([case_id]))
        try:
            decision = act_on_case(
                case_id,
                DecisionRequest(action, GOOD, outcome=outcome, no_conflict_declared=True),
                actor=actor_for(self.people[who]),
            )
        except CaseActionError:
            return
        REACHED.add(decision.status_after)
        if challenged and decision.kind in (DecisionKind.SIGN_OFF, DecisionKind.SECOND_SIGNATURE):
            self.signed_while_challenged.append(decision.pk)

    # --- invariants ------------------------------------------------------------------------------

    @invariant()
    def no_outcome_is_signed_while_a_challenge_is_open(self) -> None:
        assert self.signed_while_challenged == []
        REACHED.update(Case.objects.values_list("status", flat=True))

    @invariant()
    def a_case_is_held_only_while_a_challenge_is_open_on_it(self) -> None:
        held = set(Case.objects.filter(status=CaseStatus.ON_HOLD).values_list("pk", flat=True))
        assert held <= selectors.cases_with_open_challenges(held)

    @invariant()
    def a_record_is_disputed_exactly_while_a_challenge_to_it_is_open(self) -> None:
        disputed = set(
            EvidenceRecord.objects.filter(status=EvidenceStatus.DISPUTED).values_list(
                "pk", flat=True
            )
        )
        challenged = set(
            Challenge.objects.filter(
                status__in=OPEN_CHALLENGE_STATUSES, evidence__isnull=False
            ).values_list("evidence_id", flat=True)
        )
        assert disputed == challenged

    @invariant()
    def no_live_case_stands_that_would_not_meet_its_threshold(self) -> None:
        for case in Case.objects.filter(status__in=LIVE_STATUSES).select_related("policy"):
            assert selectors.still_meets_threshold(case), f"case {case.pk} stands on nothing"

    @invariant()
    def the_log_and_the_insert_only_rows_verify(self) -> None:
        assert verify_stored_chain().intact
        assert verify_rows().intact

    # --- helpers ---------------------------------------------------------------------------------

    def _remedy(self, challenge: Challenge, finding: str, data: st.DataObject) -> str:
        """Mostly a remedy the finding allows, now and then one it does not (refused)."""
        allowed = sorted(services.allowed_remedies(challenge.kind, finding)) or [Remedy.NONE]
        return str(data.draw(st.sampled_from(allowed * 5 + list(Remedy.values))))

    def _pick(self, pick: int, *, status: str) -> Challenge | None:
        found = list(Challenge.objects.filter(status=status).order_by("pk"))
        return found[pick % len(found)] if found else None

    def _decide(self, challenge: Challenge, finding: str, remedy: str, who: str, step: Any) -> None:
        correction = None
        if remedy == Remedy.CORRECTED and challenge.evidence is not None:
            correction = services.CorrectedContent(
                summary="Corrected by the data steward",
                payload={"hours": 0},
                occurred_at=challenge.evidence.occurred_at,
            )
        adjudication = services.Adjudication(
            finding=finding,
            reasons=GOOD,
            remedy=remedy,
            correction=correction,
            no_conflict_declared=True,
        )
        self._try(lambda: step(challenge.pk, adjudication, actor=actor_for(self.people[who])))
        REACHED.add(f"challenge:{Challenge.objects.get(pk=challenge.pk).status}")

    def _try(self, step: Any) -> None:
        try:
            step()
        except AppealError:
            return


_made = itertools.count(1)


def _fresh() -> int:
    """A new number for each example's names: examples roll back, but names must not clash
    within one."""
    return next(_made)


def _detector_actor(detector: Any) -> Actor:
    return Actor(user=detector.user, role=Role.DETECTOR)


def test_the_appeal_invariants_hold_under_random_steps(
    people: dict[str, Any], frozen_today: Any
) -> None:
    AppealMachine.people = people
    run_state_machine_as_test(
        AppealMachine,
        settings=settings(
            max_examples=25,
            stateful_step_count=25,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        ),
    )
    assert {"challenge:upheld", "challenge:rejected", CaseStatus.WITHDRAWN} <= REACHED, REACHED


@pytest.fixture(autouse=True)
def told_at_once(settings: Any) -> None:
    """Cases tell their subjects at once, so that the people can see, and challenge, them."""
    settings.SUBJECT_NOTICE_DELAY_HOURS = 0
