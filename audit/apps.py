from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "audit"
    verbose_name = "Audit log"

    def ready(self) -> None:
        from audit import insert_only
        from audit.access import ACCESS_EVENTS_KEY
        from audit.models import AccessEvent, AuditEvent

        # The log's own rows are covered by the chain; access events by access.recorded events.
        insert_only.register(AuditEvent)
        insert_only.register(AccessEvent, audit_key=ACCESS_EVENTS_KEY)
