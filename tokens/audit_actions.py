"""Audit action codes written by the token service.

The codes are those each kind of token was audited under before the two kinds shared one model,
so that one query finds every issue or revocation of a kind, before the change and after it.
"""

from audit.registry import register
from tokens.models import TokenKind

TOKEN_ISSUED = {
    TokenKind.PERSON: register("personal_token.issued", "A person's API token was issued."),
    TokenKind.DETECTOR: register("detector.token_issued", "An API token was issued to a detector."),
}
TOKEN_REVOKED = {
    TokenKind.PERSON: register("personal_token.revoked", "A person's API token was revoked."),
    TokenKind.DETECTOR: register("detector.token_revoked", "A detector's API token was revoked."),
}
