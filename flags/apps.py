from django.apps import AppConfig


class FlagsConfig(AppConfig):
    name = "flags"
    verbose_name = "Flags and the workforce register"

    def ready(self) -> None:
        import config.lookups  # noqa: F401 - registers the __any lookup
        from audit import insert_only
        from flags.models import EvidenceContext, FlagEvidence

        # Each flag.received event lists the flag's evidence links and a hash of their rows.
        insert_only.register(FlagEvidence, audit_key="flag_evidence")
        # A person's account of a record's context is never taken back or rewritten.
        insert_only.register(EvidenceContext, audit_key="evidence_context")
