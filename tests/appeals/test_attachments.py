"""appeals.attachments: files checked by their bytes, stored under random names in private
storage, removed when their transaction fails, and sent back only as downloads."""

import hashlib
import os
import re
import struct
import zlib
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from appeals.attachments import (
    AttachmentRefused,
    CheckedUpload,
    atomic_with_files,
    attachment_response,
    attachment_storage,
    check_uploads,
    clean_name,
    delete_stored,
    open_stored,
    remove_orphans,
    store,
)


def pdf(*, catalog_extra: str = "") -> bytes:
    """A one-page PDF with a correct cross-reference table."""
    objects = [
        f"<< /Type /Catalog /Pages 2 0 R {catalog_extra}>>",
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] >>",
    ]
    out = b"%PDF-1.4\n"
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n{body}\nendobj\n".encode()
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{offset:010d} 00000 n \n".encode() for offset in offsets)
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\n".encode()
    out += f"startxref\n{xref}\n%%EOF\n".encode()
    return out


def png() -> bytes:
    """A 1x1 white PNG, chunk by chunk."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)  # 1x1, 8-bit RGB
    pixels = zlib.compress(b"\x00\xff\xff\xff")  # filter byte, one white pixel
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )


# The start of a JFIF JPEG: start of image, APP0 segment, then (for the test) end of image.
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00\xff\xd9"
PDF = pdf()
PDF_WITH_JAVASCRIPT = pdf(catalog_extra="/OpenAction << /S /JavaScript /JS (app.alert(1)) >> ")
PNG = png()
ELF = b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 120
WINDOWS_EXE = b"MZ\x90\x00\x03\x00\x00\x00" + b"\x00" * 120


def upload(name: str, data: bytes, content_type: str = "application/pdf") -> SimpleUploadedFile:
    # The browser's Content-Type is whatever the client says: the checks never read it.
    return SimpleUploadedFile(name, data, content_type=content_type)


def refusal(*files: SimpleUploadedFile) -> AttachmentRefused:
    with pytest.raises(AttachmentRefused) as refused:
        check_uploads(list(files))
    assert refused.value.field == "attachments"
    return refused.value


@pytest.fixture
def private_root(settings: Any, tmp_path: Path) -> Path:
    settings.PRIVATE_FILES_ROOT = tmp_path
    return tmp_path / "attachments"


# Accepted


@pytest.mark.parametrize(
    ("name", "data", "content_type"),
    [
        ("statement.pdf", PDF, "application/pdf"),
        ("STATEMENT.PDF", PDF, "application/pdf"),
        ("rota.png", PNG, "image/png"),
        ("photo.jpg", JPEG, "image/jpeg"),
        ("photo.jpeg", JPEG, "image/jpeg"),
    ],
)
def test_a_pdf_png_or_jpeg_named_for_its_type_is_accepted(
    name: str, data: bytes, content_type: str
) -> None:
    # The browser claims octet-stream: only the bytes count.
    [checked] = check_uploads([upload(name, data, "application/octet-stream")])

    assert checked == CheckedUpload(
        name=name,
        content_type=content_type,
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        data=data,
    )


def test_a_pdf_with_javascript_is_accepted_for_storage() -> None:
    assert b"/JavaScript" in PDF_WITH_JAVASCRIPT

    [checked] = check_uploads([upload("evidence.pdf", PDF_WITH_JAVASCRIPT)])

    assert checked.content_type == "application/pdf"


def test_several_files_and_none_are_both_accepted() -> None:
    checked = check_uploads([upload("a.pdf", PDF), upload("b.png", PNG), upload("c.jpg", JPEG)])

    assert [c.name for c in checked] == ["a.pdf", "b.png", "c.jpg"]
    assert check_uploads([]) == []


# Refused, each naming the file


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("x.pdf", PNG, "x.pdf is a PNG image, not a PDF."),
        ("scan.png", JPEG, "scan.png is a JPEG image, not a PNG image."),
        ("photo.jpg", PDF, "photo.jpg is a PDF, not a JPEG image."),
        ("notes.pdf", b"These are my notes, not a PDF at all.\n", "notes.pdf is not a PDF, PNG"),
        ("tool.png", ELF, "tool.png is not a PDF, PNG or JPEG file."),
        ("setup.png", WINDOWS_EXE, "setup.png is not a PDF, PNG or JPEG file."),
        ("letter.docx", PDF, "letter.docx is a PDF but is named .docx: name it .pdf."),
        ("empty.pdf", b"", "empty.pdf is empty."),
        ("statement", PDF, "statement has no file extension"),
        ("statement.", PDF, "statement. has no file extension"),
        (".pdf", PDF, "pdf has no file extension"),
    ],
)
def test_a_file_is_refused_with_a_message_naming_it(name: str, data: bytes, message: str) -> None:
    refused = refusal(upload(name, data))

    assert len(refused.messages) == 1
    assert refused.messages[0].startswith(message)
    assert str(refused).startswith(message)


def test_a_file_over_the_limit_is_refused_having_read_one_byte_past_it(settings: Any) -> None:
    settings.CHALLENGE_ATTACHMENT_MAX_BYTES = 1024
    large = upload("large.pdf", PDF + b"\n%" + b"x" * 1024 * 1024)

    refused = refusal(large)

    assert refused.messages == ("large.pdf is larger than 1 KiB, the most a file may be.",)
    # Of a file of a mebibyte, the limit and one byte were read.
    assert large.tell() == 1025


def test_a_file_exactly_at_the_limit_is_accepted(settings: Any) -> None:
    settings.CHALLENGE_ATTACHMENT_MAX_BYTES = len(PDF)

    [checked] = check_uploads([upload("exact.pdf", PDF)])

    assert checked.size == len(PDF)


def test_the_default_limit_is_ten_mebibytes_and_five_files(settings: Any) -> None:
    assert settings.CHALLENGE_ATTACHMENT_MAX_BYTES == 10 * 1024 * 1024
    assert settings.CHALLENGE_ATTACHMENT_MAX_COUNT == 5

    refused = refusal(upload("huge.pdf", PDF + b"x" * (10 * 1024 * 1024)))

    assert refused.messages == ("huge.pdf is larger than 10 MiB, the most a file may be.",)


def test_too_many_files_are_refused_before_any_is_read() -> None:
    files = [upload(f"page{n}.pdf", PDF) for n in range(6)]

    refused = refusal(*files)

    assert refused.messages == ("Attach at most 5 files to a challenge: 6 were given.",)
    assert all(file.tell() == 0 for file in files)


def test_every_problem_with_every_file_is_named_at_once() -> None:
    refused = refusal(upload("good.pdf", PDF), upload("x.pdf", PNG), upload("empty.png", b""))

    assert refused.messages == ("x.pdf is a PNG image, not a PDF.", "empty.png is empty.")
    assert str(refused) == "x.pdf is a PNG image, not a PDF. empty.png is empty."


def test_a_file_with_no_name_is_named_by_its_position() -> None:
    nameless = upload("x.pdf", PDF)
    nameless.name = "\x00\x01"  # nothing printable survives

    refused = refusal(upload("a.pdf", PDF), nameless)

    assert refused.messages == ("Attachment 2 has no file name.",)


# Names


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("statement.pdf", "statement.pdf"),
        ("../../etc/passwd.pdf", "passwd.pdf"),
        ("..\\..\\Windows\\evil.pdf", "evil.pdf"),
        ("C:\\Users\\pc 123\\My statement.pdf", "My statement.pdf"),
        ("sta\x00te\x1bment\r\n.pdf", "statement.pdf"),
        ("invoice\u202efdp.exe", "invoicefdp.exe"),
        ("  ..hidden.pdf ", "hidden.pdf"),
        ("..", ""),
        ("Überprüfung März.pdf", "Überprüfung März.pdf"),
    ],
)
def test_clean_name(raw: str, clean: str) -> None:
    assert clean_name(raw) == clean


def test_a_long_name_is_cut_to_120_characters_keeping_its_extension() -> None:
    name = clean_name("a" * 300 + ".jpeg")

    assert len(name) == 120
    assert name == "a" * 115 + ".jpeg"


def test_an_uploaded_name_with_a_path_and_nuls_is_stored_clean() -> None:
    # Django keeps a POSIX basename; the backslashes and the NUL are left for us.
    [checked] = check_uploads([upload("..\\..\\sta\x00tement.pdf", PDF)])

    assert checked.name == "statement.pdf"


# Storage


def test_a_file_is_stored_under_a_random_name_readable_only_by_its_owner(
    private_root: Path,
) -> None:
    [checked] = check_uploads([upload("My statement.pdf", PDF)])

    name = store(checked, prefix="challenges/7")

    assert re.fullmatch(r"challenges/7/[0-9a-f]{32}\.pdf", name)
    path = private_root / name
    assert path.read_bytes() == PDF
    assert path.stat().st_mode & 0o777 == 0o600
    assert private_root.stat().st_mode & 0o777 == 0o700
    assert (private_root / "challenges" / "7").stat().st_mode & 0o777 == 0o700
    with open_stored(name) as stored:
        assert stored.read() == PDF


def test_two_stores_of_one_file_get_two_names(private_root: Path) -> None:
    [checked] = check_uploads([upload("photo.jpeg", JPEG)])

    first, second = store(checked, prefix="c"), store(checked, prefix="c")

    assert first != second
    assert first.endswith(".jpg")  # the extension of the sniffed type, not the name's


def test_the_storage_follows_private_files_root(settings: Any, tmp_path: Path) -> None:
    [checked] = check_uploads([upload("a.png", PNG)])
    settings.PRIVATE_FILES_ROOT = tmp_path / "one"
    first = store(checked, prefix="c")
    settings.PRIVATE_FILES_ROOT = tmp_path / "two"
    second = store(checked, prefix="c")

    assert (tmp_path / "one" / "attachments" / first).is_file()
    assert (tmp_path / "two" / "attachments" / second).is_file()
    assert not (tmp_path / "two" / "attachments" / first).exists()


@pytest.mark.parametrize("prefix", ["", "../c", "c/../d", "/c", "c/", "c d", "c\x00"])
def test_a_prefix_that_is_not_plain_segments_is_refused(private_root: Path, prefix: str) -> None:
    [checked] = check_uploads([upload("a.pdf", PDF)])

    with pytest.raises(ValueError, match="is not a storage prefix"):
        store(checked, prefix=prefix)

    assert not private_root.exists()


def test_stored_files_have_no_url(private_root: Path) -> None:
    [checked] = check_uploads([upload("a.pdf", PDF)])
    name = store(checked, prefix="c")

    with pytest.raises(ValueError, match="Attachments have no URL"):
        attachment_storage().url(name)


def test_delete_stored(private_root: Path) -> None:
    [checked] = check_uploads([upload("a.pdf", PDF)])
    name = store(checked, prefix="c")

    delete_stored(name)
    delete_stored(name)  # already gone: nothing happens

    assert not (private_root / name).exists()
    with pytest.raises(FileNotFoundError):
        open_stored(name)


# Transactions


class Rollback(Exception):
    pass


@pytest.mark.django_db
def test_files_stored_in_a_block_that_fails_are_removed(private_root: Path) -> None:
    [a, b] = check_uploads([upload("a.pdf", PDF), upload("b.png", PNG)])

    with pytest.raises(Rollback), atomic_with_files() as files:
        names = [files.store(a, prefix="c"), files.store(b, prefix="c")]
        assert all((private_root / name).is_file() for name in names)
        raise Rollback

    assert not any((private_root / name).exists() for name in names)


@pytest.mark.django_db
def test_files_stored_in_a_block_that_succeeds_are_kept(private_root: Path) -> None:
    [a] = check_uploads([upload("a.pdf", PDF)])

    with atomic_with_files() as files:
        name = files.store(a, prefix="c")

    assert (private_root / name).read_bytes() == PDF


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_files_of_a_committed_transaction_are_kept(private_root: Path) -> None:
    from django.db import connection

    [a] = check_uploads([upload("a.pdf", PDF)])

    with atomic_with_files() as files:
        assert not connection.get_autocommit()
        name = files.store(a, prefix="c")

    assert connection.get_autocommit()  # committed, not a savepoint in a test transaction
    assert (private_root / name).read_bytes() == PDF


@pytest.fixture
def three_files(private_root: Path) -> Iterator[dict[str, str]]:
    [a] = check_uploads([upload("a.pdf", PDF)])
    names = {key: store(a, prefix=f"challenges/{key}") for key in ("known", "orphan", "recent")}
    two_days_ago = (
        private_root.joinpath(names["known"]).stat().st_mtime - timedelta(days=2).total_seconds()
    )
    for key in ("known", "orphan"):
        os.utime(private_root / names[key], (two_days_ago, two_days_ago))
    yield names


def test_remove_orphans_removes_old_files_no_row_names(
    private_root: Path, three_files: dict[str, str]
) -> None:
    removed = remove_orphans([three_files["known"]], older_than=timedelta(days=1))

    assert removed == [three_files["orphan"]]
    assert not (private_root / three_files["orphan"]).exists()
    # Named by a row; and too new to be an orphan: its transaction may be under way.
    assert (private_root / three_files["known"]).exists()
    assert (private_root / three_files["recent"]).exists()


def test_remove_orphans_with_nothing_stored_yet(private_root: Path) -> None:
    assert remove_orphans([], older_than=timedelta(days=1)) == []


# Downloads


def body(response: Any) -> bytes:
    """The streamed bytes; the stored file closed after, as the server would on finishing."""
    try:
        return b"".join(response.streaming_content)
    finally:
        response.file_to_stream.close()


def test_a_file_is_sent_only_as_a_download(private_root: Path) -> None:
    [checked] = check_uploads([upload("statement.pdf", PDF_WITH_JAVASCRIPT)])
    name = store(checked, prefix="c")

    response = attachment_response(name, filename=checked.name, content_type=checked.content_type)

    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == 'attachment; filename="statement.pdf"'
    assert response["Content-Length"] == str(len(PDF_WITH_JAVASCRIPT))
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Security-Policy"] == "default-src 'none'; sandbox"
    assert response["Cache-Control"] == "no-store, private"
    assert body(response) == PDF_WITH_JAVASCRIPT


@pytest.mark.parametrize(
    ("filename", "disposition"),
    [
        ("Überprüfung.png", "attachment; filename*=utf-8''%C3%9Cberpr%C3%BCfung.png"),
        ('say "cheese".png', 'attachment; filename="say \\"cheese\\".png"'),
        ("a\r\nSet-Cookie: x=1.png", 'attachment; filename="aSet-Cookie: x=1.png"'),
        ("../../secret.png", 'attachment; filename="secret.png"'),
        ("", 'attachment; filename="attachment.png"'),
    ],
)
def test_the_download_name_is_encoded_safely(
    private_root: Path, filename: str, disposition: str
) -> None:
    [checked] = check_uploads([upload("a.png", PNG)])
    name = store(checked, prefix="c")

    response = attachment_response(name, filename=filename, content_type="image/png")

    assert response["Content-Disposition"] == disposition
    body(response)


def test_a_type_attachments_are_never_stored_as_is_refused(private_root: Path) -> None:
    with pytest.raises(ValueError, match="'text/html' is not a type attachments are stored as"):
        attachment_response("c/x.pdf", filename="x.html", content_type="text/html")


def test_a_missing_file_is_not_found(private_root: Path) -> None:
    with pytest.raises(FileNotFoundError):
        attachment_response("c/gone.pdf", filename="x.pdf", content_type="application/pdf")
