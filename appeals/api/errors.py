"""The appeals services' refusals as API answers, and the error answers the operations document.

AppealNotFound is 404, in the service's words (the same for what is missing and what the caller
may not see); AppealInvalid is 422 with ``fields`` from its problems; any other AppealError, an
AppealRefused, is 409 ``refused``. A number too large for any row is answered as a missing one.
"""

from collections.abc import Iterator
from contextlib import contextmanager

from drf_spectacular.utils import OpenApiResponse
from rest_framework import exceptions, status

from appeals.errors import AppealError, AppealInvalid, AppealNotFound
from config.api_errors import ApiError, FieldErrors

# The largest id a row can have; a larger number in a path names nothing (and SQLite cannot
# even compare it).
MAX_ROW_ID = 2**63 - 1

# The services name the parts of a corrected record flat, as the steward's form does; the API
# names them as its body nests them.
_API_FIELDS = {
    "correction": "corrected",
    "corrected_summary": "corrected.summary",
    "corrected_payload": "corrected.payload",
    "corrected_occurred_at": "corrected.occurred_at",
}


class Refused(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_code = "refused"


@contextmanager
def appeal_refusals() -> Iterator[None]:
    """Answer an appeals service's refusal by the one error rule."""
    try:
        yield
    except AppealNotFound as exc:
        raise exceptions.NotFound(str(exc)) from exc
    except AppealInvalid as exc:
        fields = {
            _API_FIELDS.get(name, name or "body"): [message]
            for name, message in exc.problems.items()
        }
        raise FieldErrors(fields, str(exc)) from exc
    except AppealError as exc:
        raise Refused(str(exc)) from exc


def existing_id(value: int, missing: str) -> int:
    """``value``, or 404 in the words ``missing`` when no row could have that id."""
    if value > MAX_ROW_ID:
        raise exceptions.NotFound(missing)
    return value


UNAUTHENTICATED = OpenApiResponse(
    ApiError, "No token, or a token not recognised, revoked or expired."
)
NO_ROLE = OpenApiResponse(
    ApiError,
    "`no_role`: the caller holds no role, or several; `permission_denied`: a detector's token.",
)
BAD_QUERY = OpenApiResponse(ApiError, "`invalid_query`: a query parameter is not valid.")
BAD_BODY = OpenApiResponse(
    ApiError, "`parse_error`: the body is empty or not JSON; `invalid_body`: not a JSON object."
)
TOO_LARGE = OpenApiResponse(ApiError, "`body_too_large`: the body is over 64 KiB.")
NOT_JSON = OpenApiResponse(ApiError, "`unsupported_media_type`: the body is not JSON.")
REFUSED = OpenApiResponse(
    ApiError, "`refused`: not possible now; `detail` says why (the state it is in, a deadline)."
)


def invalid(words: str) -> OpenApiResponse:
    return OpenApiResponse(ApiError, f"`invalid`: {words}; `fields` names each problem.")


def not_found(words: str) -> OpenApiResponse:
    return OpenApiResponse(
        ApiError,
        f"{words}: answered alike, in the same words, so that the answer does not tell what "
        "exists.",
    )
