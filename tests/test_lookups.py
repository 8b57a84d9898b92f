"""config.lookups: ``__any`` finds the same rows as ``__in``, on every database."""

import pytest

from flags.models import Subject
from tests.factories import SubjectFactory

pytestmark = pytest.mark.django_db


def test_any_matches_in_for_strings_ints_and_relations() -> None:
    boss = SubjectFactory.create()
    staff = [SubjectFactory.create(line_manager=boss) for _ in range(3)]
    numbers = [staff[0].staff_number, staff[2].staff_number, "no-such-number"]

    by_number = Subject.objects.filter(staff_number__any=numbers)
    by_pk = Subject.objects.filter(pk__any={staff[1].pk, boss.pk})
    by_relation = Subject.objects.filter(line_manager_id__any=[boss.pk])

    assert set(by_number) == set(Subject.objects.filter(staff_number__in=numbers))
    assert set(by_number) == {staff[0], staff[2]}
    assert set(by_pk) == {staff[1], boss}
    assert set(by_relation) == set(staff)


def test_any_of_nothing_matches_nothing() -> None:
    SubjectFactory.create()

    assert list(Subject.objects.filter(staff_number__any=[])) == []
    assert Subject.objects.exclude(staff_number__any=[]).count() == 1
