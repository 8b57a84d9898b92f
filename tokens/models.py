from django.conf import settings
from django.db import models
from django.utils import timezone
from simple_history.models import HistoricalRecords


class TokenKind(models.TextChoices):
    """Whose token it is, which decides the endpoints that accept it and its default lifetime."""

    PERSON = "person", "A person's"
    DETECTOR = "detector", "A detector's"


class ApiToken(models.Model):
    """An API token, stored as its SHA-256: the token itself is shown once, on issue.

    Every token belongs to a user: a person's own account, or a detector's service user. The API
    acts as that user, in the role the user holds at the time of each request; each endpoint
    says which kind of token it accepts.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="api_tokens"
    )
    kind = models.CharField(max_length=10, choices=TokenKind.choices)
    token_hash = models.CharField(max_length=64, unique=True)
    prefix = models.CharField(max_length=12, help_text="The token's first characters, to tell it")
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = "API token"
        constraints = [
            models.CheckConstraint(
                condition=models.Q(kind__in=TokenKind.values), name="api_token_kind_known"
            ),
            models.CheckConstraint(
                condition=models.Q(expires_at__gt=models.F("created_at")),
                name="api_token_expires_after_issue",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.get_kind_display().lower()}, user {self.user_id})"

    def expiry_text(self) -> str:
        """When the token expires, in local time, as commands and refusals say it."""
        return timezone.localtime(self.expires_at).strftime("%d %B %Y at %H:%M %Z")
