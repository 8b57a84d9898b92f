"""casework.services.notices: a notice is e-mailed once, after commit, and a failed e-mail is
retried with backoff until it goes, never twice, and given up loudly after a bound."""

import logging
from datetime import timedelta
from typing import Any

import pytest
from django.core import mail

from audit.actors import system_actor
from audit.log import verify_stored_chain
from casework.models import Case, Notification, NotificationKind
from casework.services import email_notice, email_unsent_notices, send_due_notifications
from casework.services.notices import CLAIM_TIMEOUT, EmailNotSent, EmailResult, retry_delay
from tests.db_writes import AuditTail
from tests.factories import NOW, CaseFactory, SubjectFactory
from tests.mail_backends import MailServer

pytestmark = pytest.mark.django_db

ADDRESS = "otto@example.police.uk"


@pytest.fixture(autouse=True)
def flaky_mail(settings: Any) -> Any:
    settings.EMAIL_BACKEND = "tests.mail_backends.FlakyEmailBackend"
    MailServer.up()
    yield MailServer
    MailServer.up()


@pytest.fixture
def case(frozen_today: Any, people: dict[str, Any]) -> Case:
    """A case whose subject has an account with an address; its opening notice falls due a day
    after opening."""
    case = CaseFactory.create(subject=SubjectFactory.create(unit="East Response"))
    case.subject.user = people["otto.outsider"]
    case.subject.save(update_fields=["user"])  # test set-up: the subject has an account
    people["otto.outsider"].email = ADDRESS
    people["otto.outsider"].save(update_fields=["email"])
    return case


def send_when_due(time_machine: Any, capture: Any) -> Notification:
    time_machine.move_to(NOW + timedelta(hours=25), tick=False)
    with capture(execute=True):
        assert send_due_notifications(actor=system_actor()) == 1
    return Notification.objects.get(kind=NotificationKind.CASE_OPENED)


def test_a_sent_notice_is_emailed_once_after_commit(
    case: Case, time_machine: Any, django_capture_on_commit_callbacks: Any
) -> None:
    tail = AuditTail()
    notice = send_when_due(time_machine, django_capture_on_commit_callbacks)

    assert [m.to for m in mail.outbox] == [[ADDRESS]]
    notice.refresh_from_db()
    assert notice.emailed_at is not None
    assert (notice.email_attempts, notice.email_sending) == (1, False)
    assert [e.action for e in tail.events()] == ["notification.sent", "notification.emailed"]
    # Asked again, by the task or the sweep, nothing more goes.
    assert email_notice(notice.pk, actor=system_actor()) == EmailResult.NOTHING_TO_SEND
    time_machine.move_to(NOW + timedelta(days=3), tick=False)
    assert email_unsent_notices(actor=system_actor()) == 0
    assert len(mail.outbox) == 1


def test_a_failed_email_is_recorded_and_the_sweep_sends_it_once_the_server_is_back(
    case: Case,
    time_machine: Any,
    django_capture_on_commit_callbacks: Any,
    flaky_mail: Any,
    caplog: Any,
) -> None:
    flaky_mail.go_down()
    tail = AuditTail()
    with caplog.at_level(logging.WARNING, logger="casework.services.notices"):
        notice = send_when_due(time_machine, django_capture_on_commit_callbacks)

    # The notice is in the app; the e-mail failed, was recorded, and broke nothing.
    notice.refresh_from_db()
    assert notice.sent_at is not None
    assert (notice.emailed_at, notice.email_attempts, notice.email_sending) == (None, 1, False)
    assert mail.outbox == []
    failed = tail.events()[-1]
    assert (failed.action, failed.data["error"]) == (
        "notification.email_failed",
        "SMTPServerDisconnected",
    )
    assert ADDRESS not in str(failed.data)
    assert f"Notice {notice.pk} was not e-mailed" in caplog.text

    # Still down: the sweep tries again only once the backoff has passed.
    assert email_unsent_notices(actor=system_actor()) == 0
    assert flaky_mail.refused == 1
    time_machine.move_to(NOW + timedelta(hours=25) + retry_delay(1), tick=False)
    assert email_unsent_notices(actor=system_actor()) == 0
    assert flaky_mail.refused == 2

    # The server is back: the next due sweep sends it, once, and later sweeps send nothing.
    flaky_mail.up()
    second = NOW + timedelta(hours=25) + retry_delay(1)
    time_machine.move_to(second + retry_delay(2) - timedelta(minutes=1), tick=False)
    assert email_unsent_notices(actor=system_actor()) == 0  # the third attempt is not yet due
    time_machine.move_to(second + retry_delay(2), tick=False)
    assert email_unsent_notices(actor=system_actor()) == 1
    assert email_unsent_notices(actor=system_actor()) == 0
    time_machine.move_to(NOW + timedelta(days=5), tick=False)
    assert email_unsent_notices(actor=system_actor()) == 0
    assert [m.to for m in mail.outbox] == [[ADDRESS]]
    notice.refresh_from_db()
    assert (notice.email_attempts, notice.emailed_at is not None) == (3, True)
    assert [e.action for e in tail.events()] == [
        "notification.sent",
        "notification.email_failed",
        "notification.email_failed",
        "notification.emailed",
    ]
    assert verify_stored_chain().intact


def test_an_attempt_under_way_stops_a_second_sender_until_it_is_stale(
    case: Case, time_machine: Any, flaky_mail: Any
) -> None:
    flaky_mail.go_down()
    time_machine.move_to(NOW + timedelta(hours=25), tick=False)
    send_due_notifications(actor=system_actor())  # on_commit callbacks not run: no attempt yet
    notice = Notification.objects.get(kind=NotificationKind.CASE_OPENED)
    # A worker claimed the notice and died before it could record the result.
    Notification.objects.filter(pk=notice.pk).update(
        email_sending=True, email_attempts=1, email_attempted_at=NOW + timedelta(hours=25)
    )
    flaky_mail.up()

    assert email_notice(notice.pk, actor=system_actor()) == EmailResult.IN_PROGRESS
    time_machine.move_to(NOW + timedelta(hours=25) + CLAIM_TIMEOUT / 2, tick=False)
    assert email_unsent_notices(actor=system_actor()) == 0
    assert mail.outbox == []

    time_machine.move_to(NOW + timedelta(hours=25) + CLAIM_TIMEOUT * 2, tick=False)
    assert email_unsent_notices(actor=system_actor()) == 1
    assert len(mail.outbox) == 1


def test_email_is_given_up_loudly_after_the_last_attempt(
    case: Case, time_machine: Any, flaky_mail: Any, settings: Any, caplog: Any
) -> None:
    settings.NOTICE_EMAIL_MAX_ATTEMPTS = 2
    flaky_mail.go_down()
    time_machine.move_to(NOW + timedelta(hours=25), tick=False)
    send_due_notifications(actor=system_actor())
    notice = Notification.objects.get(kind=NotificationKind.CASE_OPENED)
    tail = AuditTail()

    with pytest.raises(EmailNotSent):
        email_notice(notice.pk, actor=system_actor())
    with (
        caplog.at_level(logging.ERROR, logger="casework.services.notices"),
        pytest.raises(EmailNotSent),
    ):
        email_notice(notice.pk, actor=system_actor())

    notice.refresh_from_db()
    assert notice.email_abandoned_at is not None
    assert [e.action for e in tail.events()] == [
        "notification.email_failed",
        "notification.email_abandoned",
    ]
    assert "could not be e-mailed after 2 attempts" in caplog.text
    flaky_mail.up()
    time_machine.move_to(NOW + timedelta(days=3), tick=False)
    assert email_unsent_notices(actor=system_actor()) == 0
    assert mail.outbox == []


def test_a_subject_with_no_address_is_told_in_the_app_only(
    frozen_today: Any, time_machine: Any, django_capture_on_commit_callbacks: Any
) -> None:
    CaseFactory.create()
    notice = send_when_due(time_machine, django_capture_on_commit_callbacks)

    assert email_notice(notice.pk, actor=system_actor()) == EmailResult.NO_ADDRESS
    assert mail.outbox == []
    notice.refresh_from_db()
    assert notice.email_attempts == 0


def test_backoff_doubles_up_to_six_hours() -> None:
    assert [retry_delay(n) for n in (1, 2, 3)] == [
        timedelta(minutes=5),
        timedelta(minutes=10),
        timedelta(minutes=20),
    ]
    assert retry_delay(30) == timedelta(hours=6)
