"""A finished report as a download."""

import base64

from django.http import FileResponse

from appeals.attachments import download_response
from reports import services
from reports.models import Report


def report_response(report: Report, edition: services.Edition) -> FileResponse:
    """A finished report's file as a download, with its hash in the headers."""
    response = download_response(
        edition.file, filename=services.download_name(report), content_type="application/pdf"
    )
    digest = base64.b64encode(bytes.fromhex(edition.sha256)).decode("ascii")
    response["Repr-Digest"] = f"sha-256=:{digest}:"
    response["X-Report-SHA256"] = edition.sha256
    return response
