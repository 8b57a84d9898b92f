"""Challenges filed as multipart forms with attachments (config.parsers.StrictMultiPartParser on
POST /api/v1/challenges/), and attachments downloaded (GET .../attachments/{n})."""

import hashlib
import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rest_framework.test import APIClient

from appeals.api.challenges import no_such_attachment
from appeals.models import Challenge, ChallengeAttachment
from audit.models import AccessEvent, AuditEvent
from tests.appeals.conftest import Clients, World
from tests.appeals.test_api import GROUNDS, grant
from tests.appeals.test_attachments import JPEG, PDF, PNG

URL = "/api/v1/challenges/"
BOUNDARY = "scrutiny-test-boundary"


@pytest.fixture(autouse=True)
def private_root(settings: Any, tmp_path: Path) -> Path:
    settings.PRIVATE_FILES_ROOT = tmp_path
    return tmp_path


def stored_files(root: Path) -> list[Path]:
    return [path for path in root.rglob("*") if path.is_file()]


def fields(world: World, **extra: Any) -> dict[str, Any]:
    return {
        "kind": "inaccurate",
        "evidence": str(world.records[0].pk),
        "grounds": GROUNDS,
        "proposed_correction": "No overtime claimed in that week.",
        **extra,
    }


def upload(name: str, data: bytes) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type="application/octet-stream")


def file_form(client: APIClient, data: dict[str, Any]) -> Any:
    return client.post(URL, data, format="multipart")


def form(parts: list[tuple[str, str | None, bytes]], *, closed: bool = True) -> bytes:
    """A multipart body written out by hand: (field, file name or None, content) per part."""
    out = b""
    for name, filename, data in parts:
        disposition = f'form-data; name="{name}"'
        if filename is not None:
            disposition += f'; filename="{filename}"'
        out += f"--{BOUNDARY}\r\nContent-Disposition: {disposition}\r\n".encode()
        if filename is not None:
            out += b"Content-Type: application/pdf\r\n"
        out += b"\r\n" + data + b"\r\n"
    if closed:
        out += f"--{BOUNDARY}--\r\n".encode()
    return out


def post_raw(client: APIClient, body: bytes, content_type: str | None = None) -> Any:
    return client.generic(
        "POST",
        URL,
        body,  # type: ignore[arg-type]  # bytes are sent as they are
        content_type=content_type or f"multipart/form-data; boundary={BOUNDARY}",
    )


def text_parts(world: World) -> list[tuple[str, str | None, bytes]]:
    return [(name, None, str(value).encode()) for name, value in fields(world).items()]


# --- accepted ------------------------------------------------------------------------------------


def test_a_challenge_with_a_pdf_is_filed_and_downloaded(
    world: World, api: Clients, private_root: Path
) -> None:
    fay = api("fay.flagged")

    response = file_form(fay, fields(world, attachments=[upload("statement.pdf", PDF)]))

    assert response.status_code == 201, response.json()
    [attachment] = response.json()["attachments"]
    challenge = response.json()["id"]
    assert attachment | {"url": ""} == {
        "position": 1,
        "name": "statement.pdf",
        "content_type": "application/pdf",
        "size": len(PDF),
        "sha256": hashlib.sha256(PDF).hexdigest(),
        "url": "",
    }
    assert attachment["url"].endswith(f"/api/v1/challenges/{challenge}/attachments/1")
    assert len(stored_files(private_root)) == 1

    download = fay.get(attachment["url"], HTTP_ACCEPT="application/pdf")

    assert download.status_code == 200
    assert b"".join(download.streaming_content) == PDF  # type: ignore[attr-defined]
    assert download["Content-Type"] == "application/pdf"
    assert download["Content-Disposition"] == 'attachment; filename="statement.pdf"'
    assert download["X-Content-Type-Options"] == "nosniff"
    assert download["Cache-Control"] == "no-store"
    stored = ChallengeAttachment.objects.get()
    assert list(
        AccessEvent.objects.filter(object_type="appeals.challengeattachment").values_list(
            "username", "object_id", "channel", "on_behalf_of_user_id"
        )
    ) == [("fay.flagged", str(stored.pk), "api", None)]


def test_a_representative_files_and_downloads_on_the_persons_behalf(
    world: World, api: Clients
) -> None:
    grant(world)
    rhea = api("rhea.rep")
    data = fields(world, subject=str(world.subject.pk))
    data["attachments"] = [upload("rota.png", PNG), upload("photo.jpg", JPEG)]

    response = file_form(rhea, data)

    assert response.status_code == 201, response.json()
    assert response.json()["on_behalf_of"] == "fay.flagged"
    second = rhea.get(response.json()["attachments"][1]["url"])
    assert (second.status_code, second["Content-Type"]) == (200, "image/jpeg")
    download = AccessEvent.objects.get(object_type="appeals.challengeattachment")
    assert (download.username, download.on_behalf_of_user_id) == ("rhea.rep", world.fay.pk)


def test_the_steward_downloads_and_anyone_else_is_told_there_is_no_such_file(
    world: World, api: Clients, gus: Any
) -> None:
    response = file_form(api("fay.flagged"), fields(world, attachments=[upload("s.pdf", PDF)]))
    challenge = response.json()["id"]
    url = f"/api/v1/challenges/{challenge}/attachments/"

    steward = api("dan.steward").get(url + "1")
    hidden = api("gus.grey").get(url + "1", HTTP_ACCEPT="application/pdf")
    no_file = api("fay.flagged").get(url + "9")
    no_challenge = api("fay.flagged").get("/api/v1/challenges/999999/attachments/1")
    too_big = api("fay.flagged").get(url + str(2**64))

    assert steward.status_code == 200
    assert hidden.status_code == no_file.status_code == no_challenge.status_code == 404
    assert hidden["Content-Type"] == "application/json"
    assert hidden.json() == {"error": "not_found", "detail": no_such_attachment(challenge, 1)}
    assert no_file.json()["detail"] == no_such_attachment(challenge, 9)
    assert no_challenge.json()["detail"] == no_such_attachment(999999, 1)
    assert too_big.json()["detail"] == no_such_attachment(challenge, 2**64)
    assert list(
        AccessEvent.objects.filter(object_type="appeals.challengeattachment").values_list(
            "username", "purpose"
        )
    ) == [("dan.steward", "challenge adjudication")]


# --- refused, with nothing written ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("files", "words"),
    [
        ([("statement.pdf", PNG)], "statement.pdf is a PNG image, not a PDF."),
        ([("empty.pdf", b"")], "empty.pdf is empty."),
        ([("notes.txt", b"plain words")], "notes.txt is not a PDF, PNG or JPEG file."),
        ([(f"{n}.pdf", PDF) for n in range(6)], "at most 5"),
    ],
)
def test_a_refused_attachment_is_a_422_and_nothing_is_written(
    world: World,
    api: Clients,
    private_root: Path,
    files: list[tuple[str, bytes]],
    words: str,
) -> None:
    fay = api("fay.flagged")
    before = AuditEvent.objects.count()

    response = file_form(
        fay, fields(world, attachments=[upload(name, data) for name, data in files])
    )

    assert response.status_code == 422, response.json()
    assert words in " ".join(response.json()["fields"]["attachments"])
    assert not Challenge.objects.exists() and stored_files(private_root) == []
    assert AuditEvent.objects.count() == before


def test_a_file_over_the_size_limit_is_a_422(world: World, api: Clients, settings: Any) -> None:
    settings.CHALLENGE_ATTACHMENT_MAX_BYTES = 1024

    response = file_form(
        api("fay.flagged"), fields(world, attachments=[upload("big.pdf", PDF + b"%" * 2000)])
    )

    assert response.status_code == 422
    assert response.json()["fields"]["attachments"] == [
        "big.pdf is larger than 1 KiB, the most a file may be."
    ]


def test_a_form_over_the_body_limit_is_a_413_before_it_is_read(
    world: World, api: Clients, settings: Any, private_root: Path
) -> None:
    settings.CHALLENGE_ATTACHMENT_MAX_COUNT = 1
    settings.CHALLENGE_ATTACHMENT_MAX_BYTES = 1024

    response = file_form(
        api("fay.flagged"), fields(world, attachments=[upload("big.pdf", PDF + b"%" * 300_000)])
    )

    assert response.status_code == 413
    assert response.json() == {
        "error": "body_too_large",
        "detail": "The body is larger than this endpoint accepts (257 KiB).",
    }
    assert not Challenge.objects.exists() and stored_files(private_root) == []


def test_form_fields_over_their_limit_are_a_413(world: World, api: Clients, settings: Any) -> None:
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 2000

    response = file_form(api("fay.flagged"), fields(world, grounds="x" * 3000))

    assert (response.status_code, response.json()["error"]) == (413, "body_too_large")
    assert "fields other than its files" in response.json()["detail"]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"grounds": "Not mine\x00"}, "grounds"),
        ({"grounds": "x" * 5001}, "grounds"),
        ({"evidence": "twelve"}, "evidence"),
        ({"kind": "unhappy"}, "kind"),
        ({"attachments": "statement.pdf"}, "attachments.0"),
    ],
)
def test_bad_form_fields_are_a_422(
    world: World, api: Clients, change: dict[str, Any], field: str
) -> None:
    response = file_form(api("fay.flagged"), fields(world, **change))

    assert response.status_code == 422, response.json()
    assert field in response.json()["fields"]
    assert not Challenge.objects.exists()


def test_a_file_under_another_name_is_refused(world: World, api: Clients) -> None:
    response = file_form(api("fay.flagged"), fields(world, statement=upload("s.pdf", PDF)))

    assert response.status_code == 422
    assert response.json()["fields"] == {"statement": ["Send files only as attachments."]}


@pytest.mark.parametrize(
    ("content_type", "body", "words"),
    [
        ("multipart/form-data", None, "Invalid boundary"),
        ("multipart/form-data; boundary=", None, "Invalid boundary"),
        (None, b"neither parts nor boundaries", "closing boundary"),
        (None, b"\x00\xff" * 100, "closing boundary"),
        (None, "cut", "closing boundary"),
        (None, b"", "The body is empty"),
    ],
)
def test_a_form_that_cannot_be_read_is_a_400(
    world: World, api: Clients, content_type: str | None, body: Any, words: str
) -> None:
    if body is None:
        body = form(text_parts(world))
    elif body == "cut":
        body = form([*text_parts(world), ("attachments", "s.pdf", PDF)], closed=False)

    response = post_raw(api("fay.flagged"), body, content_type)

    assert (response.status_code, response.json()["error"]) == (400, "parse_error")
    assert words in response.json()["detail"]
    assert not Challenge.objects.exists()


def test_the_hand_written_form_is_accepted_when_whole(world: World, api: Clients) -> None:
    body = form([*text_parts(world), ("attachments", "s.pdf", PDF)])

    response = post_raw(api("fay.flagged"), body)

    assert response.status_code == 201, response.json()
    assert [a["name"] for a in response.json()["attachments"]] == ["s.pdf"]


@pytest.mark.parametrize(
    "content_type",
    [
        "application/x-www-form-urlencoded",
        "text/plain",
        f"multipart/mixed; boundary={BOUNDARY}",
        f"multipart/form-data; boundary={BOUNDARY}; charset=latin-1",
    ],
)
def test_another_content_type_is_a_415(world: World, api: Clients, content_type: str) -> None:
    response = post_raw(api("fay.flagged"), form(text_parts(world)), content_type)

    assert (response.status_code, response.json()["error"]) == (415, "unsupported_media_type")


def test_no_other_endpoint_reads_a_multipart_form(world: World, api: Clients) -> None:
    response = api("fay.flagged").post(
        "/api/v1/representations/",
        {"representative": "rhea.rep", "expires_on": "2026-07-01"},
        format="multipart",
    )

    assert (response.status_code, response.json()["error"]) == (415, "unsupported_media_type")


# --- odd forms -----------------------------------------------------------------------------------

HEADER_TEXT = st.text(
    alphabet=st.characters(codec="latin-1", exclude_characters="\r\n"), max_size=40
)
PARTS = st.lists(
    st.tuples(
        st.sampled_from(["kind", "evidence", "grounds", "subject", "attachments", "x", ""])
        | HEADER_TEXT,
        st.none() | HEADER_TEXT,
        st.binary(max_size=300) | st.sampled_from([PDF, PNG, JPEG, b"--" + BOUNDARY.encode()]),
        st.lists(HEADER_TEXT, max_size=2),
    ),
    max_size=6,
)


def odd_form(parts: list[tuple[str, str | None, bytes, list[str]]], closed: bool) -> bytes:
    out = b""
    for name, filename, data, headers in parts:
        disposition = f'form-data; name="{name}"'
        if filename is not None:
            disposition += f'; filename="{filename}"'
        lines = [f"Content-Disposition: {disposition}", *headers]
        out += f"--{BOUNDARY}\r\n".encode() + "\r\n".join(lines).encode("latin-1") + b"\r\n\r\n"
        out += data + b"\r\n"
    return out + (f"--{BOUNDARY}--\r\n".encode() if closed else b"")


@pytest.fixture
def error_schema(client: Client) -> dict[str, Any]:
    schema = client.get("/api/schema/?format=json").json()
    return {"$ref": "#/components/schemas/ApiError", "components": schema["components"]}


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(parts=PARTS, closed=st.booleans())
def test_odd_forms_never_get_a_server_error(
    world: World,
    api: Clients,
    error_schema: dict[str, Any],
    parts: list[tuple[str, str | None, bytes, list[str]]],
    closed: bool,
) -> None:
    response = post_raw(api("fay.flagged"), odd_form(parts, closed))

    assert response.status_code < 500, response.content[:300]
    if response.status_code >= 400:
        body = json.loads(response.content)
        jsonschema.validate(body, error_schema, cls=jsonschema.Draft202012Validator)
        assert response.status_code != 422 or body["fields"]
