"""Attachments to challenges: checked by their content, kept in private storage, sent only as
downloads.

A challenger's files come from outside the force and are opened by data stewards inside it. So
nothing about a file is taken on trust: its type is read from its first bytes, not from its name
or the browser's Content-Type; it is stored under a random name of Scrutiny's choosing, in
storage that no URL reaches; and it is sent back only as a download that a browser will neither
sniff nor render in Scrutiny's origin. See docs/decisions/0020-working-days-and-uploads.md.

What this module does not do, and its callers must: decide who may upload or download a file,
and record each download in the access log.
"""

import hashlib
import logging
import posixpath
import re
import secrets
import unicodedata
from collections.abc import Collection, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import IO, Any

import filetype
from django.conf import settings
from django.core.files import File
from django.core.files.base import ContentFile
from django.core.files.storage import FileSystemStorage, Storage, storages
from django.core.files.uploadedfile import UploadedFile
from django.core.signals import setting_changed
from django.db import transaction
from django.http import FileResponse
from django.utils import timezone
from django.utils.functional import cached_property
from django.utils.http import content_disposition_header

logger = logging.getLogger(__name__)

# The types a challenge may carry, by MIME type, with the extension a stored file is given.
ALLOWED = {"application/pdf": "pdf", "image/png": "png", "image/jpeg": "jpg"}
# The extensions a challenger's file may be named with, and the type each promises.
EXTENSION_TYPES = {
    "pdf": "application/pdf",
    "png": "image/png",
    "jpg": "image/jpeg",
    "jpeg": "image/jpeg",
}
DESCRIPTIONS = {
    "application/pdf": "a PDF",
    "image/png": "a PNG image",
    "image/jpeg": "a JPEG image",
}
MAX_NAME_CHARS = 120
# Unicode categories removed from names: control characters (NUL among them) and format
# characters such as U+202E, which would display "cod.exe" reversed as "exe.doc".
UNSAFE_CATEGORIES = frozenset({"Cc", "Cf", "Zl", "Zp"})
# A prefix is Scrutiny's own choosing ("challenges/42"): plain path segments, never "..".
PREFIX = re.compile(r"[A-Za-z0-9_-]+(/[A-Za-z0-9_-]+)*")
READ_CHUNK_BYTES = 64 * 1024


class AttachmentRefused(ValueError):
    """One or more files were refused; nothing was stored. ``messages`` has one sentence per
    problem, each naming the file; the exception's text is all of them. ``field`` is the form
    field to show them against."""

    field = "attachments"
    status_code = 422

    def __init__(self, messages: Sequence[str]) -> None:
        self.messages = tuple(messages)
        super().__init__(" ".join(self.messages))


@dataclass(frozen=True)
class CheckedUpload:
    """A file that passed every check, read into memory (at most
    CHALLENGE_ATTACHMENT_MAX_BYTES). ``name`` is the challenger's file name made safe to show and
    to offer as a download name; it is never used to store the file."""

    name: str
    content_type: str
    size: int
    sha256: str
    data: bytes

    @property
    def extension(self) -> str:
        """The extension the stored file gets, from its content: ``jpg`` for a ``.jpeg``."""
        return ALLOWED[self.content_type]


def clean_name(raw: str) -> str:
    """The file name a browser sent, made safe to show and to send back in a header.

    Only the last path segment is kept (a browser may send ``C:\\Users\\...`` and a client may send
    anything), control and format characters (NUL, CR, LF, direction overrides) are removed, and
    leading dots and surrounding spaces are dropped so that ``..`` and ``.pdf`` name nothing. A
    name over MAX_NAME_CHARS is shortened before its extension, which is kept.
    """
    text = unicodedata.normalize("NFC", raw)
    text = "".join(ch for ch in text if unicodedata.category(ch) not in UNSAFE_CATEGORIES)
    text = re.split(r"[/\\]", text)[-1].strip().lstrip(".").strip()
    if len(text) <= MAX_NAME_CHARS:
        return text
    stem, dot, extension = text.rpartition(".")
    if dot and stem and len(extension) < MAX_NAME_CHARS // 2:
        return stem[: MAX_NAME_CHARS - len(extension) - 1].rstrip() + "." + extension
    return text[:MAX_NAME_CHARS]


def check_uploads(files: Sequence[UploadedFile]) -> list[CheckedUpload]:
    """Every file checked, all or nothing: the checked files, or AttachmentRefused naming every
    problem with every file (not only the first), so that a challenger can fix them all at once.

    Refused: more than CHALLENGE_ATTACHMENT_MAX_COUNT files (before any is read); a file with no
    name or no extension; an empty one; one over CHALLENGE_ATTACHMENT_MAX_BYTES (of which no more
    than the limit and one byte is read); one whose content is not a PDF, PNG or JPEG; one whose
    extension says another type than its content ("x.pdf is a PNG image, not a PDF").

    The content check reads a file's signature, its first bytes, as ``filetype`` knows them: it
    stops executables, office documents, text and renamed files, but it does not prove a PDF well
    formed, nor free of JavaScript. None needs to be: attachments are only ever downloaded, never
    shown inline (attachment_response).
    """
    limit = settings.CHALLENGE_ATTACHMENT_MAX_COUNT
    if len(files) > limit:
        raise AttachmentRefused(
            [f"Attach at most {limit} files to a challenge: {len(files)} were given."]
        )
    checked: list[CheckedUpload] = []
    problems: list[str] = []
    for position, file in enumerate(files, start=1):
        try:
            checked.append(check_upload(file, position=position))
        except AttachmentRefused as refused:
            problems.extend(refused.messages)
    if problems:
        raise AttachmentRefused(problems)
    return checked


def check_upload(file: UploadedFile, *, position: int = 1) -> CheckedUpload:
    """One file checked as check_uploads checks each; ``position`` names a file with no name."""
    name = clean_name(file.name or "")
    if not name:
        raise AttachmentRefused([f"Attachment {position} has no file name."])
    stem, dot, extension = name.rpartition(".")
    if not (dot and stem and extension):
        raise AttachmentRefused(
            [
                f"{name} has no file extension: attach PDF, PNG or JPEG files, named .pdf, .png "
                "or .jpg."
            ]
        )
    max_bytes = settings.CHALLENGE_ATTACHMENT_MAX_BYTES
    data = read_at_most(file, max_bytes + 1)
    if not data:
        raise AttachmentRefused([f"{name} is empty."])
    if len(data) > max_bytes:
        raise AttachmentRefused(
            [f"{name} is larger than {size_in_words(max_bytes)}, the most a file may be."]
        )
    content_type = sniffed_type(data)
    if content_type not in ALLOWED:
        raise AttachmentRefused([f"{name} is not a PDF, PNG or JPEG file."])
    claimed = EXTENSION_TYPES.get(extension.lower())
    if claimed is None:
        raise AttachmentRefused(
            [
                f"{name} is {DESCRIPTIONS[content_type]} but is named .{extension}: "
                f"name it .{ALLOWED[content_type]}."
            ]
        )
    if claimed != content_type:
        raise AttachmentRefused(
            [f"{name} is {DESCRIPTIONS[content_type]}, not {DESCRIPTIONS[claimed]}."]
        )
    return CheckedUpload(
        name=name,
        content_type=content_type,
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        data=data,
    )


def read_at_most(file: UploadedFile, limit: int) -> bytes:
    """At most ``limit`` bytes of ``file`` from its start, never more: an oversized upload is
    known to be so from one byte past the limit, without reading the rest of it."""
    if file.seekable():
        file.seek(0)
    chunks: list[bytes] = []
    remaining = limit
    while remaining > 0:
        chunk = file.read(min(remaining, READ_CHUNK_BYTES))
        if not chunk:
            break
        chunks.append(chunk)
        remaining -= len(chunk)
    return b"".join(chunks)


def sniffed_type(data: bytes) -> str | None:
    """The MIME type ``data`` begins as, by its signature, or None if it matches none known."""
    kind = filetype.guess(data)
    return str(kind.mime) if kind is not None else None


def size_in_words(size: int) -> str:
    """``10 MiB`` for a whole number of mebibytes, else kibibytes or bytes."""
    for unit, factor in (("MiB", 1024 * 1024), ("KiB", 1024)):
        if size % factor == 0:
            return f"{size // factor} {unit}"
    return f"{size} bytes"


class PrivateFileSystemStorage(FileSystemStorage):
    """Local storage for attachments: under PRIVATE_FILES_ROOT/attachments unless given a
    location, and with no URL, so that nothing can link to a file past the permission check."""

    def __init__(self, location: str | Path | None = None, **options: Any) -> None:
        super().__init__(location=location, **options)
        self._private_location = location
        # Follows PRIVATE_FILES_ROOT when a test overrides it, as Django's own storage follows
        # MEDIA_ROOT.
        setting_changed.connect(self._follow_private_files_root)

    @cached_property
    def base_location(self) -> str:
        return str(self._private_location or attachments_root())

    def _follow_private_files_root(self, setting: str, **kwargs: Any) -> None:
        if setting == "PRIVATE_FILES_ROOT":
            self.__dict__.pop("base_location", None)
            self.__dict__.pop("location", None)

    def url(self, name: str | None) -> str:
        raise ValueError("Attachments have no URL: send one with attachment_response.")


def attachments_root() -> Path:
    """Where local storage keeps attachments: a directory of PRIVATE_FILES_ROOT."""
    return Path(settings.PRIVATE_FILES_ROOT) / "attachments"


def attachment_storage() -> Storage:
    """The storage named ``private`` in settings.STORAGES: local files by default, any backend
    of Django's storage API (an S3-compatible bucket) where a deployment configures one."""
    return storages["private"]


def store(upload: CheckedUpload, *, prefix: str) -> str:
    """Save ``upload`` under ``prefix`` and a random name, and return the stored name.

    The name is 128 random bits and the extension of the file's sniffed type: never the
    challenger's name, which may collide, mislead or carry a path. ``prefix`` is Scrutiny's own
    (``challenges/42``). The caller records the returned name in the same transaction as the row
    that owns the file: use atomic_with_files, so that a rolled-back row leaves no file behind.
    """
    if not PREFIX.fullmatch(prefix):
        raise ValueError(f"{prefix!r} is not a storage prefix (segments of letters and digits).")
    name = f"{prefix}/{secrets.token_hex(16)}.{upload.extension}"
    return attachment_storage().save(name, ContentFile(upload.data))


def open_stored(name: str) -> File:
    """The stored file ``name``, open for reading in binary. FileNotFoundError if it is gone."""
    return attachment_storage().open(name, "rb")


def delete_stored(name: str) -> None:
    """Remove the stored file ``name``; nothing happens if it is already gone."""
    attachment_storage().delete(name)


class PendingFiles:
    """The files stored inside one atomic_with_files block, removed if the block fails."""

    def __init__(self) -> None:
        self.names: list[str] = []

    def store(self, upload: CheckedUpload, *, prefix: str) -> str:
        """store(upload, prefix=prefix), remembered so that it can be removed on failure."""
        name = store(upload, prefix=prefix)
        self.names.append(name)
        return name

    def discard(self) -> None:
        """Remove every file stored so far. A file that cannot be removed now is left for
        remove_orphans, rather than hiding the error that rolled the transaction back."""
        for name in self.names:
            try:
                delete_stored(name)
            except Exception:
                logger.warning("Could not remove %s after a rollback", name, exc_info=True)
        self.names.clear()


@contextmanager
def atomic_with_files(using: str | None = None) -> Iterator[PendingFiles]:
    """``transaction.atomic()`` whose files are removed if it fails.

    Django has no rollback hook (its documentation explains why: do things after commit rather
    than undo them after rollback). A file cannot wait for the commit, though: its row must name
    a file that exists the moment the row is visible. So the files are stored inside the block,
    through the PendingFiles this yields, and removed if the block raises, which is the one way
    its work is rolled back (the commit failing included)::

        with atomic_with_files() as files:
            challenge = Challenge.objects.create(...)
            for upload in uploads:
                name = files.store(upload, prefix=f"challenges/{challenge.pk}")
                ChallengeAttachment.objects.create(challenge=challenge, stored_name=name, ...)

    Nested inside another atomic block, this one is a savepoint: the files survive it, and if the
    outer transaction is then rolled back they are orphans, as they are after a crash between
    storing and committing. remove_orphans sweeps those.
    """
    files = PendingFiles()
    try:
        with transaction.atomic(using=using):
            yield files
    except BaseException:
        files.discard()
        raise


def stored_names(storage: Storage, directory: str = "") -> Iterator[str]:
    """Every file's name in ``storage`` under ``directory``, at any depth."""
    try:
        directories, names = storage.listdir(directory)
    except FileNotFoundError:
        return
    for name in names:
        yield posixpath.join(directory, name) if directory else name
    for child in directories:
        yield from stored_names(storage, posixpath.join(directory, child) if directory else child)


def remove_orphans(known_names: Collection[str], *, older_than: timedelta) -> list[str]:
    """Remove stored files that no row names (not in ``known_names``) and that are older than
    ``older_than``; return their names.

    The files a rolled-back outer transaction or a crash left behind. The age keeps the files of
    a transaction still under way, so ``known_names`` may be read before the storage is listed:
    choose an age far longer than any transaction (a day). Scheduling the sweep, and reading
    ``known_names`` from every model that holds a stored name, is the caller's part.
    """
    storage = attachment_storage()
    cutoff = timezone.now() - older_than
    known = set(known_names)
    removed: list[str] = []
    for name in stored_names(storage):
        if name in known or storage.get_modified_time(name) > cutoff:
            continue
        storage.delete(name)
        removed.append(name)
    return removed


def attachment_response(name: str, *, filename: str, content_type: str) -> FileResponse:
    """The stored file ``name`` as a download called ``filename``, streamed.

    The headers make it only a download: ``Content-Disposition: attachment`` (the name encoded by
    Django for any characters), the stored type with ``nosniff`` so that a browser never guesses
    another, a sandboxing Content-Security-Policy that lets nothing in the file run or load should
    a browser show it anyway, and no caching. The caller must first check that the viewer may see
    the file, and record the download in the access log: this function does neither.
    FileNotFoundError if the stored file is gone.
    """
    if content_type not in ALLOWED:
        raise ValueError(f"{content_type!r} is not a type attachments are stored as.")
    download_name = clean_name(filename) or f"attachment.{ALLOWED[content_type]}"
    return download_response(open_stored(name), filename=download_name, content_type=content_type)


def download_response(file: IO[bytes], *, filename: str, content_type: str) -> FileResponse:
    """``file`` as a download called ``filename``, streamed and closed when sent: only a
    download (``Content-Disposition: attachment``, ``nosniff``), nothing in it allowed to run or
    load should a browser show it anyway, and never cached."""
    response = FileResponse(file, as_attachment=True, filename=filename, content_type=content_type)
    response["Content-Disposition"] = content_disposition_header(True, filename)
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response["Cache-Control"] = "no-store, private"
    return response
