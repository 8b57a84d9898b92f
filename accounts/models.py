from django.conf import settings
from django.db import models
from simple_history.models import HistoricalRecords


class PersonalToken(models.Model):
    """A person's API token, stored as its SHA-256: the token itself is shown once, on issue.

    The API acts as the token's user, in the role the user holds at the time of each request.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="personal_tokens"
    )
    token_hash = models.CharField(max_length=64, unique=True)
    prefix = models.CharField(max_length=12, help_text="The token's first characters, to tell it")
    created_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)
    history = HistoricalRecords()

    def __str__(self) -> str:
        return f"{self.prefix}… (user {self.user_id})"
