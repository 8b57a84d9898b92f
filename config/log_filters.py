"""Filters for the logging configuration in ``config.settings``."""

import logging

from django.core.exceptions import PermissionDenied
from django.http import Http404

REFUSALS = (PermissionDenied, Http404)


class RefusalsWithoutTraceback(logging.Filter):
    """Log a refused request (403, 404) as its one line: the refusal is the product working,
    and a traceback per refusal buries the errors that matter."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and isinstance(record.exc_info[1], REFUSALS):
            record.exc_info = None
            record.exc_text = None
        return True
