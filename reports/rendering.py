"""A report's final HTML made into a PDF by WeasyPrint: the same bytes every time, fetching nothing.

- **Reproducible.** The PDF's dates are the snapshot's (the moment of the audit chain's head the
  report was rendered from), never the clock's; its title and subject are set here; its file
  identifier (``/ID``) is derived from what the document is of and the snapshot's hash. The same
  HTML at the same snapshot, rendered by the same WeasyPrint, gives the same bytes. The producer
  stays WeasyPrint's own, with its version: a reader can tell which renderer made the file, and
  a new WeasyPrint lays pages out differently anyway.
- **Fetching nothing.** :class:`StaticFilesOnly` serves the project's own static files (the
  stylesheet, images) found through Django's static file finders, read from disk, and refuses
  every other URL before any I/O: other hosts and schemes (``http:``, ``file:``, ``data:``),
  paths that climb out (``..``), queries, and font files (the fonts are the system's). Each
  refusal is logged, and :func:`render_pdf` raises :class:`RefusedFetches` naming them all once
  WeasyPrint is done: a report missing a piece it asked for is not the report that was meant.
- **Archival and tagged.** PDF/A-2a: fonts embedded, an sRGB output intent, XMP metadata, and the
  tagged structure (headings, tables, lists, reading order) that screen readers use.

See docs/decisions/0026-pdfs-reproducible-and-fetching-nothing.md.
"""

import hashlib
import logging
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import unquote, urljoin, urlsplit

from django.conf import settings
from django.contrib.staticfiles import finders
from django.core.exceptions import SuspiciousFileOperation
from weasyprint import HTML
from weasyprint.urls import URLFetcher, URLFetcherResponse

from audit.chain import GENESIS_HASH
from audit.models import AuditEvent

logger = logging.getLogger(__name__)

# What relative URLs in a report's HTML resolve against, so that ``{% static %}`` URLs reach the
# fetcher as absolute URLs it can recognise. ``.invalid`` never resolves (RFC 6761), and nothing
# fetches from it anyway: a link a reader should follow from the PDF must be written absolute.
DOCUMENT_BASE_URL = "https://scrutiny.invalid/"

# The static files a report may use, by extension, and the type they are served as. No fonts:
# they come from the system (DejaVu Sans, else Liberation Sans), and the GOV.UK Frontend assets
# among the static files hold GDS Transport, which only GOV.UK may use.
SERVED_TYPES = {
    ".css": "text/css",
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".gif": "image/gif",
    ".svg": "image/svg+xml",
}

# One set of options for WeasyPrint's layout and for its writing of the file. PDF/A-2a brings
# PDF 1.7, tags and the sRGB output intent; compression and font subsetting are deterministic.
PDF_OPTIONS: dict[str, Any] = {
    "pdf_variant": "pdf/a-2a",
    "pdf_tags": True,
    "uncompressed_pdf": False,
    "custom_metadata": False,
    "full_fonts": False,
}

# The PDF's /Creator: the application that made the HTML (WeasyPrint is the /Producer).
CREATOR = "Scrutiny"


# Month names written out here: strftime's follow the process's locale.
MONTHS = (
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)  # fmt: skip


@dataclass(frozen=True)
class Snapshot:
    """The data a report is rendered from: the audit chain's head when rendering began."""

    seq: int
    hash: str
    at: datetime

    def __post_init__(self) -> None:
        if self.at.tzinfo is None:
            raise ValueError("A snapshot's moment must be timezone-aware.")
        if len(self.hash) != 64:
            raise ValueError("A snapshot's hash is a SHA-256 in hexadecimal.")

    @property
    def hash_prefix(self) -> str:
        return self.hash[:12]

    @property
    def line(self) -> str:
        """What each page's header says of the data the report shows."""
        return f"Data as of audit event {self.seq} (hash {self.hash_prefix}…)"

    @property
    def at_utc(self) -> datetime:
        return self.at.astimezone(UTC)

    @property
    def at_text(self) -> str:
        """The snapshot's moment for a reader, in UTC as the audit log keeps it."""
        at = self.at_utc
        return f"{at.day} {MONTHS[at.month - 1]} {at.year}, {at:%H:%M:%S} UTC"

    def w3c_time(self) -> str:
        """The snapshot's moment to the second, in UTC, as PDF metadata takes it."""
        return self.at_utc.strftime("%Y-%m-%dT%H:%M:%SZ")


# Where a snapshot of an empty chain is dated: the epoch, so that it is still fixed.
EMPTY_CHAIN_AT = datetime(1970, 1, 1, tzinfo=UTC)


class SnapshotNotFound(LookupError):
    pass


def current_snapshot() -> Snapshot:
    """The head of the audit chain now, from committed rows."""
    head = AuditEvent.objects.order_by("-seq").values_list("seq", "hash", "occurred_at").first()
    if head is None:
        return Snapshot(0, GENESIS_HASH, EMPTY_CHAIN_AT)
    seq, event_hash, occurred_at = head
    return Snapshot(seq, event_hash, occurred_at)


def snapshot_at(seq: int, event_hash: str) -> Snapshot:
    """The snapshot a report recorded (its sequence number and hash), with the event's moment.

    Refuses a sequence number the chain does not hold with that hash: re-rendering a report must
    not silently draw on other data than it first did.
    """
    if seq == 0 and event_hash == GENESIS_HASH:
        return Snapshot(0, GENESIS_HASH, EMPTY_CHAIN_AT)
    occurred_at = (
        AuditEvent.objects.filter(seq=seq, hash=event_hash)
        .values_list("occurred_at", flat=True)
        .first()
    )
    if occurred_at is None:
        raise SnapshotNotFound(f"The audit chain holds no event {seq} with hash {event_hash}.")
    return Snapshot(seq, event_hash, occurred_at)


class RefusedFetch(ValueError):
    """A URL the renderer will not fetch. WeasyPrint skips the resource and logs it."""


class RefusedFetches(RuntimeError):
    """A render asked for URLs it may not have: the PDF is not made."""

    def __init__(self, urls: list[str]) -> None:
        self.urls = list(urls)
        super().__init__(
            "The report's HTML asked for resources it may not fetch: " + ", ".join(urls)
        )


def _static_roots() -> list[Path]:
    """The directories the static file finders search, resolved (the GOV.UK assets are a link)."""
    roots: list[Path] = []
    for finder in finders.get_finders():
        if isinstance(finder, finders.FileSystemFinder):
            roots.extend(Path(root) for _prefix, root in finder.locations)
        elif isinstance(finder, finders.AppDirectoriesFinder):
            roots.extend(Path(storage.location) for storage in finder.storages.values())
    return [root.resolve() for root in roots]


class StaticFilesOnly(URLFetcher):
    """WeasyPrint's URL fetcher for reports: the project's static files, and nothing else.

    Records every URL asked for, in ``served`` or in ``refused``.
    """

    def __init__(self, base_url: str = DOCUMENT_BASE_URL) -> None:
        # WeasyPrint skips a resource whose fetch raises; render_pdf fails once it is done.
        super().__init__(fail_on_errors=False)
        self.static_prefix = urljoin(base_url, settings.STATIC_URL)
        self.served: list[str] = []
        self.refused: list[str] = []

    def fetch(self, url: str, headers: Any = None) -> URLFetcherResponse:
        try:
            path, content_type = self.static_file(url)
            body = path.read_bytes()
        except RefusedFetch as refusal:
            self.refused.append(url)
            logger.warning("Refused to fetch %s for a PDF: %s", url[:200], refusal)
            raise
        self.served.append(url)
        return URLFetcherResponse(url, body=body, headers={"Content-Type": content_type})

    def static_file(self, url: str) -> tuple[Path, str]:
        """The file a URL names among the static files, and its type; or RefusedFetch."""
        if not url.startswith(self.static_prefix):
            raise RefusedFetch("not one of the project's static files")
        if urlsplit(url).query:
            raise RefusedFetch("a static file is named by its path alone")
        relative = unquote(url[len(self.static_prefix) :].partition("#")[0])
        segments = relative.split("/")
        if any(s in ("", ".", "..") for s in segments) or "\\" in relative or "\x00" in relative:
            raise RefusedFetch("not a plain path below the static files")
        content_type = SERVED_TYPES.get(PurePosixPath(relative).suffix.lower())
        if content_type is None:
            raise RefusedFetch("not a stylesheet or an image")
        try:
            found = finders.find(relative)
        except SuspiciousFileOperation as error:
            raise RefusedFetch("outside the static files") from error
        if not isinstance(found, str):
            raise RefusedFetch("no such static file")
        path = Path(found).resolve()
        if not path.is_file() or not any(path.is_relative_to(root) for root in _static_roots()):
            raise RefusedFetch("outside the static files")
        return path, content_type


@dataclass(frozen=True)
class RenderedPdf:
    content: bytes
    pages: int
    # WeasyPrint's own time, from parsing the HTML to the finished file.
    seconds: float
    # The static files the document used, as the URLs it named them by.
    static_files: tuple[str, ...]

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.content).hexdigest()

    @property
    def size(self) -> int:
        return len(self.content)


def pdf_identifier(identifier: str, snapshot: Snapshot) -> bytes:
    """The first half of the PDF's /ID: what the document is of, at which snapshot."""
    material = f"{identifier}\n{snapshot.seq}\n{snapshot.hash}".encode()
    return hashlib.sha256(material).hexdigest()[:32].encode("ascii")


def render_pdf(html: str, *, snapshot: Snapshot, title: str, identifier: str) -> RenderedPdf:
    """Render a report's final HTML.

    ``identifier`` names what the document is of (a report's kind and canonical parameters, say):
    with the snapshot it makes the PDF's /ID. Raises RefusedFetches when the HTML or its
    stylesheets asked for anything but the project's own static files.
    """
    fetcher = StaticFilesOnly()
    started = time.perf_counter()
    document = HTML(string=html, base_url=DOCUMENT_BASE_URL, url_fetcher=fetcher).render(
        **PDF_OPTIONS
    )
    metadata = document.metadata
    metadata.title = title
    metadata.description = f"{snapshot.line}, {snapshot.w3c_time()}"
    metadata.generator = CREATOR
    metadata.created = metadata.modified = snapshot.w3c_time()
    metadata.lang = metadata.lang or "en-GB"
    content = document.write_pdf(pdf_identifier=pdf_identifier(identifier, snapshot), **PDF_OPTIONS)
    seconds = time.perf_counter() - started
    if fetcher.refused:
        raise RefusedFetches(fetcher.refused)
    return RenderedPdf(
        content=content,
        pages=len(document.pages),
        seconds=seconds,
        static_files=tuple(fetcher.served),
    )
