from django.apps import AppConfig


class AppealsConfig(AppConfig):
    name = "appeals"
    verbose_name = "Appeals"

    def ready(self) -> None:
        from appeals import case_panel
        from appeals.models import ChallengeAttachment
        from appeals.selectors import cases_with_open_decision_challenges
        from audit import insert_only
        from casework.selectors import register_open_challenge_check

        # A challenge's files are named, with their hash, by its challenge.filed event.
        insert_only.register(ChallengeAttachment, audit_key="attachments")
        # No outcome is signed on a case while a challenge to one of its decisions is open.
        register_open_challenge_check(cases_with_open_decision_challenges)
        # The reviewer's case page shows the challenges filed about the case.
        case_panel.register()
