"""``{{ timedelta|in_words }}``: a length of time as a person says it, such as "30 minutes"."""

from datetime import timedelta

from django import template
from django.utils import timezone
from django.utils.timesince import timeuntil

register = template.Library()


@register.filter
def in_words(duration: timedelta | None) -> str:
    """Whole units, the largest two ("1 hour, 30 minutes"); under a minute is "a minute"."""
    if not duration:
        return ""
    if duration < timedelta(minutes=1):
        return "a minute"
    now = timezone.now()
    # timeuntil keeps number and unit together with a no-break space; plain spaces read the same.
    return timeuntil(now + duration, now, depth=2).replace("\xa0", " ")
