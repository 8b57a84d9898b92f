"""config.settings: read from the environment only, failing loudly on what production needs.

Each case starts a fresh interpreter with a clean environment, since settings are read once.
"""

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

PROJECT = Path(__file__).resolve().parent.parent

SHOW = """
import json, django
from django.conf import settings
django.setup()
db = settings.DATABASES["default"]
print(json.dumps({
    "engine": db["ENGINE"],
    "name": str(db["NAME"]),
    "options": db.get("OPTIONS", {}),
    "secret_key": settings.SECRET_KEY,
    "debug": settings.DEBUG,
    "allowed_hosts": settings.ALLOWED_HOSTS,
    "eager": settings.CELERY_TASK_ALWAYS_EAGER,
    "broker": settings.CELERY_BROKER_URL,
    "session_cookie_secure": settings.SESSION_COOKIE_SECURE,
    "csrf_cookie_secure": settings.CSRF_COOKIE_SECURE,
    "csrf_cookie_httponly": settings.CSRF_COOKIE_HTTPONLY,
    "ssl_redirect": settings.SECURE_SSL_REDIRECT,
    "hsts": [
        settings.SECURE_HSTS_SECONDS,
        settings.SECURE_HSTS_INCLUDE_SUBDOMAINS,
        settings.SECURE_HSTS_PRELOAD,
    ],
    "proxy_ssl_header": settings.SECURE_PROXY_SSL_HEADER,
    "silenced": settings.SILENCED_SYSTEM_CHECKS,
    "token_days": [settings.API_TOKEN_DEFAULT_DAYS, settings.API_TOKEN_MAX_DAYS],
    "renderers": settings.REST_FRAMEWORK["DEFAULT_RENDERER_CLASSES"],
    "storages": {name: settings.STORAGES[name] for name in ("private", "reports")},
}))
"""


def start(**env: str) -> subprocess.CompletedProcess[str]:
    clean = {
        "PATH": os.environ.get("PATH", ""),
        "PYTHONPATH": str(PROJECT),
        "DJANGO_SETTINGS_MODULE": "config.settings",
        # A developer's .env (make demo writes one) must not answer for the environment here.
        "DOTENV_PATH": "",
        **env,
    }
    return subprocess.run(  # noqa: S603 - our own interpreter and script
        [sys.executable, "-c", SHOW],
        cwd=PROJECT,
        env=clean,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def settings_with(**env: str) -> dict[str, Any]:
    run = start(**env)
    assert run.returncode == 0, run.stderr
    return dict(json.loads(run.stdout))


@pytest.mark.parametrize("debug", [None, "false", "0"])
def test_without_a_secret_key_and_debug_off_start_up_fails_clearly(debug: str | None) -> None:
    run = start(**({"DEBUG": debug} if debug is not None else {}))

    assert run.returncode != 0
    assert "ImproperlyConfigured: SECRET_KEY is not set." in run.stderr
    assert "SECRET_KEY_FILE" in run.stderr


def test_an_empty_secret_key_is_no_secret_key() -> None:
    run = start(SECRET_KEY="")

    assert run.returncode != 0
    assert "SECRET_KEY is not set" in run.stderr


def test_with_debug_on_a_development_key_is_used() -> None:
    shown = settings_with(DEBUG="true")

    assert shown["debug"] is True
    assert shown["secret_key"].startswith("insecure-development-key")
    assert shown["allowed_hosts"] == ["127.0.0.1", "localhost"]
    assert "rest_framework.renderers.BrowsableAPIRenderer" in shown["renderers"]


def test_production_defaults_are_closed() -> None:
    shown = settings_with(SECRET_KEY="k" * 50)

    assert (shown["debug"], shown["secret_key"]) == (False, "k" * 50)
    assert shown["allowed_hosts"] == []
    assert shown["session_cookie_secure"] is True
    assert shown["renderers"] == ["rest_framework.renderers.JSONRenderer"]


def test_the_secret_key_can_come_from_a_file(tmp_path: Path) -> None:
    secret = tmp_path / "secret"
    secret.write_text("from-a-file\n", encoding="utf-8")

    assert settings_with(SECRET_KEY_FILE=str(secret))["secret_key"] == "from-a-file"


def test_a_secret_key_and_a_secret_key_file_together_are_refused(tmp_path: Path) -> None:
    secret = tmp_path / "secret"
    secret.write_text("x", encoding="utf-8")

    run = start(SECRET_KEY="y", SECRET_KEY_FILE=str(secret))

    assert run.returncode != 0
    assert "Set SECRET_KEY or SECRET_KEY_FILE, not both." in run.stderr


def test_an_unreadable_secret_key_file_is_refused(tmp_path: Path) -> None:
    run = start(SECRET_KEY_FILE=str(tmp_path / "absent"))

    assert run.returncode != 0
    assert f"SECRET_KEY_FILE={tmp_path / 'absent'} cannot be read" in run.stderr


def test_without_database_url_sqlite_is_used_with_immediate_transactions() -> None:
    shown = settings_with(SECRET_KEY="k")

    assert shown["engine"] == "django.db.backends.sqlite3"
    assert shown["name"] == str(PROJECT / "scrutiny.sqlite3")
    assert shown["options"]["transaction_mode"] == "IMMEDIATE"


def test_database_url_selects_postgresql() -> None:
    shown = settings_with(SECRET_KEY="k", DATABASE_URL="postgres://app@db.internal:5432/scrutiny")

    assert shown["engine"] == "django.db.backends.postgresql"
    assert shown["name"] == "scrutiny"
    assert shown["options"] == {"server_side_binding": True}


def test_without_a_broker_celery_tasks_run_in_process() -> None:
    shown = settings_with(SECRET_KEY="k")

    assert (shown["broker"], shown["eager"]) == ("memory://localhost/", True)


def test_with_a_broker_celery_tasks_are_queued() -> None:
    shown = settings_with(SECRET_KEY="k", CELERY_BROKER_URL="redis://127.0.0.1:6379/0")

    assert (shown["broker"], shown["eager"]) == ("redis://127.0.0.1:6379/0", False)


def test_attachments_and_reports_are_local_private_files_by_default() -> None:
    shown = settings_with(SECRET_KEY="k")

    assert shown["storages"]["private"]["BACKEND"] == "appeals.attachments.PrivateFileSystemStorage"
    assert shown["storages"]["reports"]["BACKEND"] == "reports.storage.ReportFileSystemStorage"
    assert shown["storages"]["reports"]["OPTIONS"]["file_permissions_mode"] == 0o600


def test_a_bucket_takes_attachments_and_reports_for_web_and_worker_machines_alike() -> None:
    shown = settings_with(
        SECRET_KEY="k",
        FILES_S3_BUCKET="scrutiny-files",
        FILES_S3_ENDPOINT_URL="https://s3.internal:9000",
        FILES_S3_REGION="eu-west-2",
    )

    for name, prefix in (("private", "attachments"), ("reports", "reports")):
        storage = shown["storages"][name]
        assert storage["BACKEND"] == "storages.backends.s3.S3Storage"
        assert storage["OPTIONS"] == {
            "bucket_name": "scrutiny-files",
            "endpoint_url": "https://s3.internal:9000",
            "region_name": "eu-west-2",
            "location": prefix,
            "default_acl": "private",
            "querystring_auth": True,
            "file_overwrite": False,
        }


def test_production_serves_https_only_and_says_so_for_a_year() -> None:
    shown = settings_with(SECRET_KEY="k")

    assert shown["ssl_redirect"] is True
    assert shown["hsts"] == [365 * 24 * 60 * 60, True, False]
    assert (shown["csrf_cookie_secure"], shown["csrf_cookie_httponly"]) == (True, True)
    assert shown["proxy_ssl_header"] is None


def test_with_debug_on_plain_http_is_served_and_no_hsts_is_sent() -> None:
    shown = settings_with(DEBUG="true")

    assert shown["ssl_redirect"] is False
    assert shown["hsts"][0] == 0
    assert shown["csrf_cookie_httponly"] is True


def test_the_https_redirect_is_switched_off_only_explicitly() -> None:
    assert settings_with(SECRET_KEY="k", SECURE_SSL_REDIRECT="false")["ssl_redirect"] is False


def test_hsts_is_configurable_and_preload_is_opt_in() -> None:
    shown = settings_with(
        SECRET_KEY="k",
        SECURE_HSTS_SECONDS="600",
        SECURE_HSTS_INCLUDE_SUBDOMAINS="false",
        SECURE_HSTS_PRELOAD="true",
    )

    assert shown["hsts"] == [600, False, True]
    # Only the warning that preload is off is silenced, and only while it is off.
    assert shown["silenced"] == []
    assert settings_with(SECRET_KEY="k")["silenced"] == ["security.W021"]


def test_a_tls_terminating_proxy_names_the_header_it_sets() -> None:
    shown = settings_with(SECRET_KEY="k", TRUSTED_PROXY_SSL_HEADER="X-Forwarded-Proto")

    assert shown["proxy_ssl_header"] == ["HTTP_X_FORWARDED_PROTO", "https"]


def test_a_proxy_header_that_is_not_a_header_name_is_refused() -> None:
    run = start(SECRET_KEY="k", TRUSTED_PROXY_SSL_HEADER="X-Forwarded-Proto: https")

    assert run.returncode != 0
    assert "TRUSTED_PROXY_SSL_HEADER='X-Forwarded-Proto: https' is not a header name" in run.stderr


def test_the_deployment_check_passes_with_production_settings() -> None:
    run = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=PROJECT,
        env={
            "PATH": os.environ.get("PATH", ""),
            "PYTHONPATH": str(PROJECT),
            "DOTENV_PATH": "",
            "DEBUG": "false",
            "SECRET_KEY": secrets.token_urlsafe(50),
            "ALLOWED_HOSTS": "scrutiny.example.org",
        },
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert run.returncode == 0, run.stderr
    assert "System check identified no issues (1 silenced)." in run.stdout


def test_api_tokens_last_90_days_by_default_and_a_year_at_most() -> None:
    assert settings_with(SECRET_KEY="k")["token_days"] == [90, 365]
    shown = settings_with(SECRET_KEY="k", API_TOKEN_DEFAULT_DAYS="7", API_TOKEN_MAX_DAYS="30")
    assert shown["token_days"] == [7, 30]


@pytest.mark.parametrize(("default", "maximum"), [("0", "365"), ("400", "365")])
def test_a_token_default_outside_one_day_to_the_maximum_is_refused(
    default: str, maximum: str
) -> None:
    run = start(SECRET_KEY="k", API_TOKEN_DEFAULT_DAYS=default, API_TOKEN_MAX_DAYS=maximum)

    assert run.returncode != 0
    assert f"API_TOKEN_DEFAULT_DAYS={default} must be at least 1 and at most" in run.stderr


def test_a_dotenv_file_fills_in_what_the_environment_leaves_unset(tmp_path: Path) -> None:
    dotenv = tmp_path / "settings.env"
    dotenv.write_text("DEBUG=true\nSECRET_KEY=from-the-file\n", encoding="utf-8")

    shown = settings_with(DOTENV_PATH=str(dotenv))

    assert (shown["debug"], shown["secret_key"]) == (True, "from-the-file")


def test_the_environment_wins_over_the_dotenv_file(tmp_path: Path) -> None:
    dotenv = tmp_path / "settings.env"
    dotenv.write_text("DEBUG=true\nSECRET_KEY=from-the-file\n", encoding="utf-8")

    shown = settings_with(DOTENV_PATH=str(dotenv), DEBUG="false", SECRET_KEY="from-the-env")

    assert (shown["debug"], shown["secret_key"]) == (False, "from-the-env")


def test_an_empty_dotenv_path_reads_no_file() -> None:
    # The project directory's own .env, if a developer has one, is not read either.
    run = start(DOTENV_PATH="")

    assert "SECRET_KEY is not set" in run.stderr
