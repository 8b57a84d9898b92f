from django.apps import AppConfig


class FlagsConfig(AppConfig):
    name = "flags"
    verbose_name = "Flags and the workforce register"

    def ready(self) -> None:
        import config.lookups  # noqa: F401 - registers the __any lookup
        from audit import insert_only
        from flags.models import FlagEvidence

        # Each flag.received event lists the flag's evidence links and a hash of their rows.
        insert_only.register(FlagEvidence, audit_key="flag_evidence")
