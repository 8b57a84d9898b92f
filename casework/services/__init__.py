"""Every governed write of the casework app, one module per concern.

- ``opening``: the system opens cases (and installs the first threshold policy);
- ``review``: each action of the workflow, one function each, and ``act_on_case``, the one
  dispatcher the pages and the API use;
- ``referrals``: the result of a referral, recorded when the investigating body concludes;
- ``notices``: notices to the subject, sent in the app and e-mailed;
- ``declarations`` and ``access``: conflict declarations and the access log's case views.

Each function takes a keyword-only ``actor``, runs in one transaction, and writes its audit events
in that transaction. What may happen next to a case, and who may do it, is said once, in
``casework.workflow``.
"""

from casework.services.access import record_case_views
from casework.services.declarations import declare_conflict
from casework.services.notices import email_notice, email_unsent_notices, send_due_notifications
from casework.services.opening import install_default_policy, open_or_update_cases_for_new_flags
from casework.services.referrals import ReferralResultRequest, record_referral_result
from casework.services.review import (
    DecisionRequest,
    act_on_case,
    assign,
    defer_notification,
    hold,
    recommend,
    release,
    return_for_correction,
    sign_off,
    sign_referral,
    start_review,
    withdraw,
)
from casework.workflow import next_steps

__all__ = [
    "DecisionRequest",
    "ReferralResultRequest",
    "act_on_case",
    "assign",
    "declare_conflict",
    "defer_notification",
    "email_notice",
    "email_unsent_notices",
    "hold",
    "install_default_policy",
    "next_steps",
    "open_or_update_cases_for_new_flags",
    "recommend",
    "record_case_views",
    "record_referral_result",
    "release",
    "return_for_correction",
    "send_due_notifications",
    "sign_off",
    "sign_referral",
    "start_review",
    "withdraw",
]
