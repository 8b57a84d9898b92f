"""Grants of representation (appeals.services.representation) and what a representative may see
and do under them (appeals.selectors.scope_for)."""

from datetime import timedelta
from typing import Any

import pytest
from django.db.models import Max

from appeals import services
from appeals.errors import AppealInvalid, AppealNotFound, AppealRefused
from appeals.models import AppealNotice, Challenge, Representation, RepresentationStatus
from appeals.selectors import NO_SUCH_RECORD, scope_for
from audit.actors import Actor, Role, system_actor
from audit.models import AuditEvent
from tests.appeals.conftest import World, file_inaccurate, flagged_subject
from tests.factories import TODAY


def head() -> int:
    return AuditEvent.objects.aggregate(m=Max("seq"))["m"] or 0


def rep(world: World) -> Actor:
    return world.actor("rhea.rep")


def granted(world: World, *, case_id: int | None = None, days: int = 30) -> Representation:
    grant = services.grant_representation(
        actor=world.as_fay,
        representative="rhea.rep",
        case_id=case_id,
        expires_on=TODAY + timedelta(days=days),
    )
    return services.accept_representation(grant.pk, actor=rep(world))


def test_a_grant_is_pending_until_the_representative_accepts(world: World) -> None:
    before = head()
    grant = services.grant_representation(
        actor=world.as_fay,
        representative="rhea.rep",
        case_id=None,
        expires_on=TODAY + timedelta(30),
    )
    assert grant.status == RepresentationStatus.PENDING
    with pytest.raises(AppealNotFound, match=NO_SUCH_RECORD):
        scope_for(rep(world).user, world.subject.pk)
    services.accept_representation(grant.pk, actor=rep(world))
    scope = scope_for(rep(world).user, world.subject.pk)
    assert scope.actor.on_behalf_of == world.fay
    assert scope.case_ids == {world.case.pk}
    actions = list(
        AuditEvent.objects.filter(seq__gt=before).values_list("action", "actor_username")
    )
    assert actions == [
        ("representation.granted", "fay.flagged"),
        ("representation.accepted", "rhea.rep"),
    ]
    assert list(AppealNotice.objects.order_by("pk").values_list("recipient__username", "kind")) == [
        ("rhea.rep", "grant_made"),
        ("fay.flagged", "grant_accepted"),
    ]


def test_what_a_representative_files_is_recorded_on_fays_behalf(world: World) -> None:
    granted(world)
    challenge = file_inaccurate(world, world.records[0], actor=rep(world))
    assert challenge.filed_by == rep(world).user
    assert challenge.on_behalf_of == world.fay
    assert challenge.filed_role == Role.REPRESENTATIVE
    filed = AuditEvent.objects.get(action="challenge.filed")
    assert (filed.actor_username, filed.on_behalf_of_user_id) == ("rhea.rep", world.fay.pk)
    # Both hear of it.
    assert set(
        AppealNotice.objects.filter(kind="challenge_filed").values_list(
            "recipient__username", flat=True
        )
    ) == {"fay.flagged", "rhea.rep"}


def test_expiry_takes_effect_at_once_even_before_the_sweep(world: World, time_machine: Any) -> None:
    grant = granted(world, days=3)
    time_machine.move_to(grant.expires_at + timedelta(seconds=1), tick=False)
    with pytest.raises(AppealNotFound, match=NO_SUCH_RECORD):
        scope_for(rep(world).user, world.subject.pk)
    before = Challenge.objects.count()
    with pytest.raises(AppealNotFound):
        file_inaccurate(world, world.records[0], actor=rep(world))
    assert Challenge.objects.count() == before
    assert services.expire_grants(actor=system_actor()) == 1
    grant.refresh_from_db()
    assert grant.status == RepresentationStatus.EXPIRED
    assert AuditEvent.objects.filter(action="representation.expired").count() == 1


def test_revocation_takes_effect_at_once(world: World) -> None:
    grant = granted(world)
    services.revoke_representation(grant.pk, actor=world.as_fay)
    with pytest.raises(AppealNotFound, match=NO_SUCH_RECORD):
        scope_for(rep(world).user, world.subject.pk)
    with pytest.raises(AppealRefused, match="already ended"):
        services.revoke_representation(grant.pk, actor=world.as_fay)


def test_a_one_case_grant_shows_only_that_case(world: World) -> None:
    granted(world, case_id=world.case.pk)
    scope = scope_for(rep(world).user, world.subject.pk)
    assert not scope.whole_record
    assert scope.case_ids == {world.case.pk}


@pytest.mark.parametrize(
    ("representative", "days", "field"),
    [
        ("nobody", 30, "representative"),
        ("rita.reviewer", 30, "representative"),  # not a representative
        ("fay.flagged", 30, "representative"),
        ("rhea.rep", 0, "expires_on"),
        ("rhea.rep", 366, "expires_on"),
    ],
)
def test_a_bad_grant_is_refused_and_nothing_is_written(
    world: World, representative: str, days: int, field: str
) -> None:
    before = head()
    with pytest.raises(AppealInvalid) as refused:
        services.grant_representation(
            actor=world.as_fay,
            representative=representative,
            case_id=None,
            expires_on=TODAY + timedelta(days=days),
        )
    assert field in refused.value.problems
    assert head() == before and not Representation.objects.exists()


def test_a_representative_cannot_appoint_or_accept_for_someone_else(world: World) -> None:
    grant = services.grant_representation(
        actor=world.as_fay, representative="rhea.rep", case_id=None, expires_on=TODAY + timedelta(9)
    )
    with pytest.raises(AppealNotFound):
        services.accept_representation(grant.pk, actor=world.as_fay)
    with pytest.raises(AppealNotFound):
        services.accept_representation(grant.pk, actor=world.actor("rita.reviewer"))


def test_a_representative_of_two_people_sees_each_apart(world: World) -> None:
    granted(world)
    gus = flagged_subject("gus.grey")
    grant = services.grant_representation(
        actor=Actor(user=gus, role=Role.SUBJECT),
        representative="rhea.rep",
        case_id=None,
        expires_on=TODAY + timedelta(days=10),
    )
    services.accept_representation(grant.pk, actor=rep(world))
    fay_scope = scope_for(rep(world).user, world.subject.pk)
    gus_scope = scope_for(rep(world).user, gus.subject.pk)
    assert fay_scope.subject == world.subject and gus_scope.subject != world.subject
    assert fay_scope.actor.on_behalf_of == world.fay
    assert gus_scope.actor.on_behalf_of == gus
    assert not gus_scope.case_ids  # Gus has no case: nothing of Fay's appears in his scope


def test_a_representative_cannot_appoint_themselves(world: World) -> None:
    from appeals.selectors import own_subject

    assert own_subject(rep(world).user) is not None  # linked to a record of their own
    with pytest.raises(AppealInvalid) as refused:
        services.grant_representation(
            actor=rep(world),
            representative="rhea.rep",
            case_id=None,
            expires_on=TODAY + timedelta(9),
        )
    assert refused.value.problems == {
        "representative": "You cannot appoint yourself: choose someone else."
    }
