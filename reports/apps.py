from django.apps import AppConfig


class ReportsConfig(AppConfig):
    name = "reports"
    verbose_name = "Reports"

    def ready(self) -> None:
        from appeals.signals import data_corrected
        from reports.receivers import supersede_reports

        # A correction that changes data a finished report used marks the report superseded.
        data_corrected.connect(supersede_reports, dispatch_uid="reports.supersede_reports")
