from typing import Any

from django.apps import AppConfig
from django.db.models.signals import post_migrate


def install_default_policy_after_migrate(sender: AppConfig, **kwargs: Any) -> None:
    from audit.actors import system_actor
    from casework.services import install_default_policy

    install_default_policy(actor=system_actor())


class CaseworkConfig(AppConfig):
    name = "casework"
    verbose_name = "Casework"

    def ready(self) -> None:
        from audit import insert_only
        from casework.models import (
            CaseFlag,
            CaseReevaluation,
            Decision,
            DeclaredConflict,
            ReferralResult,
        )
        from casework.receivers import evaluate_new_flags, latest_cases_of_flags
        from flags.signals import cases_of_flags, flags_stored

        # Each decision's audit event carries its id under "decision" and its row hash.
        insert_only.register(Decision, audit_key="decision")
        # Attached flags are audited as case.opened and case.flags_attached, each listing the
        # links it made and a hash of their rows.
        insert_only.register(CaseFlag, audit_key="case_flags")
        # A declaration is never taken back silently; its event carries its id and row hash.
        insert_only.register(DeclaredConflict, audit_key="declared_conflict")
        # A re-evaluation after a correction is named, with its hash, by its case.reevaluated.
        insert_only.register(CaseReevaluation, audit_key="reevaluation")
        # A referral's result is never rewritten; its case.referral_result_recorded event carries
        # its id and row hash.
        insert_only.register(ReferralResult, audit_key="referral_result")

        flags_stored.connect(evaluate_new_flags, dispatch_uid="casework.evaluate_new_flags")
        cases_of_flags.connect(latest_cases_of_flags, dispatch_uid="casework.cases_of_flags")
        # After migrate and after a test flush alike, so a database always has a policy.
        post_migrate.connect(
            install_default_policy_after_migrate,
            sender=self,
            dispatch_uid="casework.install_default_policy",
        )
