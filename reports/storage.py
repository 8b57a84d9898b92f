"""Where finished reports are kept: the storage named ``reports`` in settings.STORAGES."""

from pathlib import Path

from django.conf import settings
from django.core.files.storage import Storage, storages
from django.utils.functional import cached_property

from appeals.attachments import PrivateFileSystemStorage


class ReportFileSystemStorage(PrivateFileSystemStorage):
    """Local storage for reports: under PRIVATE_FILES_ROOT/reports, with no URL (a report is sent
    only through the permission-checked, logged download)."""

    @cached_property
    def base_location(self) -> str:
        return str(self._private_location or Path(settings.PRIVATE_FILES_ROOT) / "reports")

    def url(self, name: str | None) -> str:
        raise ValueError("Reports have no URL: they are sent only by the download views.")


def report_storage() -> Storage:
    return storages["reports"]
