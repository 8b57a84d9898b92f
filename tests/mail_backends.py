"""A real Django e-mail backend that fails while a mail server is down, for tests of retrying.

It refuses every message with the error an SMTP backend raises when the server will not talk,
until ``MailServer.up()``; then it delivers to ``django.core.mail.outbox`` as the locmem backend
does.
"""

import smtplib
from collections.abc import Sequence

from django.core.mail import EmailMessage
from django.core.mail.backends.locmem import EmailBackend as LocmemBackend


class MailServer:
    down = False
    refused = 0

    @classmethod
    def up(cls) -> None:
        cls.down = False

    @classmethod
    def go_down(cls) -> None:
        cls.down = True
        cls.refused = 0


class FlakyEmailBackend(LocmemBackend):
    def send_messages(self, messages: Sequence[EmailMessage]) -> int:
        if MailServer.down:
            MailServer.refused += len(messages)
            raise smtplib.SMTPServerDisconnected("Connection unexpectedly closed")
        return super().send_messages(messages)
