"""Settings for Scrutiny, read from the environment only.

A ``.env`` file in the project directory (``make demo`` writes one for development) is read
beneath the environment: a variable set in the environment wins, and ``DOTENV_PATH`` names
another file, or none when empty.

With nothing set, Scrutiny runs on a SQLite file with Celery tasks executed in-process and e-mail
printed to the console (the embedded default). Production sets ``DATABASE_URL`` (PostgreSQL),
``CELERY_BROKER_URL`` (Redis), ``SECRET_KEY`` (or ``SECRET_KEY_FILE``) and ``ALLOWED_HOSTS``.
A secret never has a production default: with ``DEBUG`` off and no ``SECRET_KEY`` start-up fails.
"""

import re
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

import environ
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
_dotenv = env.str("DOTENV_PATH", default=str(BASE_DIR / ".env"))
if _dotenv and Path(_dotenv).is_file():
    environ.Env.read_env(_dotenv, overwrite=False)


def secret(name: str) -> str | None:
    """Read a secret from NAME, or from the file named by NAME_FILE (for mounted secrets)."""
    value = env.str(name, default=None)
    path = env.str(f"{name}_FILE", default=None)
    if value and path:
        raise ImproperlyConfigured(f"Set {name} or {name}_FILE, not both.")
    if path:
        try:
            return Path(path).read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ImproperlyConfigured(f"{name}_FILE={path} cannot be read: {exc}") from exc
    return value


DEBUG = env.bool("DEBUG", default=False)
_secret_key = secret("SECRET_KEY")
if not _secret_key:
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY is not set. Set SECRET_KEY (or SECRET_KEY_FILE) to a long random value, "
            "or set DEBUG=true for local development only."
        )
    _secret_key = "insecure-development-key-used-only-with-DEBUG-on"  # noqa: S105
SECRET_KEY: str = _secret_key

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost"] if DEBUG else [])

INSTALLED_APPS = [
    "config.apps.ReadOnlyAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "simple_history",
    "rules.apps.AutodiscoverRulesConfig",
    "axes",
    "audit",
    "tokens",
    "accounts",
    "flags",
    "casework",
    "appeals",
    "reports",
    "demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Serves static files with DEBUG off too, straight after security headers are set.
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # After WhiteNoise, which answers static files itself with their own caching headers.
    "config.middleware.NoStoreMiddleware",
    # Before anything reads a page request's body (the CSRF check reads forms).
    "config.middleware.BodyLimitMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    # Last, as django-axes requires: it turns a locked-out sign-in into its lockout response.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# Web and worker processes connect as DATABASE_URL's role, which owns nothing; schema changes run
# as the role that owns the tables, named by MIGRATE_DATABASE_URL, and only these commands use it
# (docs/decisions/0015-database-roles.md).
OWNER_COMMANDS = frozenset({"migrate", "setup_database_roles"})


def database_url(argv: list[str]) -> str:
    """The database URL this process connects with: the owner's for OWNER_COMMANDS."""
    url = secret("DATABASE_URL") or f"sqlite:///{BASE_DIR / 'scrutiny.sqlite3'}"
    migrate_url = secret("MIGRATE_DATABASE_URL")
    if not migrate_url:
        return url
    if env.db_url_config(migrate_url)["NAME"] != env.db_url_config(url)["NAME"]:
        raise ImproperlyConfigured(
            "MIGRATE_DATABASE_URL must name the same database as DATABASE_URL, as another role."
        )
    return migrate_url if argv[1:2] and argv[1] in OWNER_COMMANDS else url


DATABASES = {"default": env.db_url_config(database_url(sys.argv))}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # IMMEDIATE takes the write lock at BEGIN, so two writers queue instead of one failing
    # with "database is locked" when it tries to upgrade a read lock mid-transaction.
    DATABASES["default"].setdefault("OPTIONS", {})
    DATABASES["default"]["OPTIONS"].update(
        {"transaction_mode": "IMMEDIATE", "timeout": 20, "init_command": "PRAGMA journal_mode=WAL;"}
    )
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # Server-side binding sends parameters separately from the SQL instead of quoting them into
    # it in Python: bulk inserts of thousands of rows cost a fraction of the CPU.
    DATABASES["default"].setdefault("OPTIONS", {})["server_side_binding"] = True
DATABASES["default"]["ATOMIC_REQUESTS"] = False
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=0)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-gb"
TIME_ZONE = "Europe/London"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = env.path("STATIC_ROOT", default=str(BASE_DIR / "staticfiles"))
STATICFILES_DIRS = [
    # static/dist/ (the compiled stylesheet) is inside static/, so /static/dist/scrutiny.css.
    BASE_DIR / "static",
    # GOV.UK Frontend's JavaScript and assets, installed by npm and never committed.
    ("govuk", BASE_DIR / "node_modules/govuk-frontend/dist/govuk"),
]
# WhiteNoise serves through the finders, so tests and live servers get the stylesheet without
# collectstatic; with DEBUG on it also picks up a rebuilt stylesheet without a restart.
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG

AUTHENTICATION_BACKENDS = [
    # First: refuses a sign-in for a username and address that failed too often.
    "axes.backends.AxesStandaloneBackend",
    "rules.permissions.ObjectPermissionBackend",
    "django.contrib.auth.backends.ModelBackend",
]
LOGIN_URL = "sign-in"
LOGIN_REDIRECT_URL = "front-door"

# Failed sign-ins: after AXES_FAILURE_LIMIT failures for one username from one address, that
# pair is locked out for AXES_COOLOFF_MINUTES. Keyed on the pair so that a stranger cannot lock a
# reviewer out from elsewhere by guessing at their username.
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("AXES_COOLOFF_MINUTES", default=30))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "accounts/locked_out.html"
# Lock-out records name people and addresses, and deleting one unlocks an account unaudited.
AXES_ENABLE_ADMIN = False
# Behind a proxy, set AXES_IPWARE_META_PRECEDENCE_ORDER so the client's address is used.
AXES_IPWARE_META_PRECEDENCE_ORDER = env.list(
    "AXES_IPWARE_META_PRECEDENCE_ORDER", default=["REMOTE_ADDR"]
)

# Content Security Policy: the pages load scripts, styles, images and fonts from Scrutiny itself
# and nothing else, and run no inline code, so injected markup cannot run or exfiltrate. The API
# documentation page alone adds inline styles (config/urls.py).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
        "base-uri": [SELF],
        "object-src": [NONE],
    }
}

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_AGE = env.int("SESSION_COOKIE_AGE", default=8 * 60 * 60)
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_SAMESITE = "Lax"
# Over HTTPS only, whenever DEBUG is off: not configurable.
SESSION_COOKIE_SECURE = not DEBUG
CSRF_COOKIE_SECURE = not DEBUG
# No script reads the CSRF cookie: forms carry the token in a hidden field.
CSRF_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True

# HTTPS. With DEBUG off, plain-HTTP requests are redirected to HTTPS and browsers are told (HSTS)
# to use nothing else for a year, subdomains included. Turning the redirect off takes an explicit
# SECURE_SSL_REDIRECT=false: for a server that only a local test browser talks to over HTTP.
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=not DEBUG)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 365 * 24 * 60 * 60)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
# Preloading is a commitment for the whole domain that takes months to undo: opt in only.
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=False)
SILENCED_SYSTEM_CHECKS = [] if SECURE_HSTS_PRELOAD else ["security.W021"]


def proxy_ssl_header(name: str) -> tuple[str, str] | None:
    """SECURE_PROXY_SSL_HEADER for a TLS-terminating proxy that sets header ``name`` to
    ``https``. Only for a proxy that always sets (or strips) that header: otherwise a client
    could claim HTTPS by sending it."""
    if not name:
        return None
    if not re.fullmatch(r"[A-Za-z0-9]+(-[A-Za-z0-9]+)*", name):
        raise ImproperlyConfigured(
            f"TRUSTED_PROXY_SSL_HEADER={name!r} is not a header name (e.g. X-Forwarded-Proto)."
        )
    return "HTTP_" + name.upper().replace("-", "_"), "https"


SECURE_PROXY_SSL_HEADER = proxy_ssl_header(env.str("TRUSTED_PROXY_SSL_HEADER", default=""))

# API tokens expire. A person's token lasts API_TOKEN_DEFAULT_DAYS unless issued for another
# number of days, at most API_TOKEN_MAX_DAYS; a detector's lasts the maximum unless issued for
# fewer, since a detector is a service whose token is rotated by deployment, not by a person.
API_TOKEN_DEFAULT_DAYS = env.int("API_TOKEN_DEFAULT_DAYS", default=90)
API_TOKEN_MAX_DAYS = env.int("API_TOKEN_MAX_DAYS", default=365)
if not 1 <= API_TOKEN_DEFAULT_DAYS <= API_TOKEN_MAX_DAYS:
    raise ImproperlyConfigured(
        f"API_TOKEN_DEFAULT_DAYS={API_TOKEN_DEFAULT_DAYS} must be at least 1 and at most "
        f"API_TOKEN_MAX_DAYS={API_TOKEN_MAX_DAYS}."
    )

EMAIL_BACKEND = env.str("EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")

_renderers = ["rest_framework.renderers.JSONRenderer"]
if DEBUG:
    _renderers.append("rest_framework.renderers.BrowsableAPIRenderer")

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_RENDERER_CLASSES": _renderers,
    # JSON only, everywhere: strict, depth-capped, size-capped per view (config/parsers.py).
    "DEFAULT_PARSER_CLASSES": ["config.parsers.StrictJSONParser"],
    "UNAUTHENTICATED_USER": None,
    "EXCEPTION_HANDLER": "config.api_errors.exception_handler",
    # Escape non-ASCII in responses, so that even invalid Unicode echoed in an error renders.
    "UNICODE_JSON": False,
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Scrutiny API",
    "DESCRIPTION": (
        "Detectors submit flags here; Scrutiny checks them against the active threshold policy "
        "and opens cases for named humans to review. Every write is audited."
    ),
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    # pydantic's JSON schema uses 3.1 constructs (type "null").
    "OAS_VERSION": "3.1.0",
    # Swagger UI from the installed sidecar package: nothing is fetched from a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Several fields are called "status" with different choices: name each set once.
    "ENUM_NAME_OVERRIDES": {
        "CaseStatusEnum": "casework.models.CaseStatus",
        "QueueStatusEnum": "casework.selectors.QUEUE_STATUS_CHOICES",
        "ChallengeKindEnum": "appeals.models.ChallengeKind",
        "ChallengeStatusEnum": "appeals.models.ChallengeStatus",
        "ChallengeListStatusEnum": "appeals.api.serializers.CHALLENGE_LIST_STATUSES",
        "FindingEnum": "appeals.models.Finding",
        "RemedyEnum": "appeals.models.Remedy",
        "RepresentationStatusEnum": "appeals.models.RepresentationStatus",
        "AppealNoticeKindEnum": "appeals.models.AppealNoticeKind",
        "EvidenceStatusEnum": "flags.models.EvidenceStatus",
        "ReportKindEnum": "reports.models.ReportKind",
        "ReportStatusEnum": "reports.models.ReportStatus",
    },
}

# The largest request body anything but ingest reads: the pages' forms (refused, before they are
# read, from their Content-Length) and any API endpoint without a limit of its own.
DATA_UPLOAD_MAX_MEMORY_SIZE = 1024 * 1024
# Ingest batches of 1,000 flags with evidence run to a few megabytes.
INGEST_MAX_BODY_BYTES = 32 * 1024 * 1024

# Celery: with no broker, tasks run in the calling process (the embedded default).
_broker = secret("CELERY_BROKER_URL") or ""
CELERY_TASK_ALWAYS_EAGER = not _broker
# In-process tasks never reach a broker; naming the in-memory transport keeps Celery from
# describing a connection to one on localhost each time a task is run.
CELERY_BROKER_URL = _broker or "memory://localhost/"
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
# Workers (`make worker`). A pool process is replaced after CELERY_WORKER_MAX_TASKS_PER_CHILD
# tasks, or after a task that leaves it above CELERY_WORKER_MAX_MEMORY_PER_CHILD KiB resident, so
# that the memory WeasyPrint takes for a large report goes back to the system.
CELERY_WORKER_MAX_TASKS_PER_CHILD = env.int("CELERY_WORKER_MAX_TASKS_PER_CHILD", default=50)
CELERY_WORKER_MAX_MEMORY_PER_CHILD = env.int("CELERY_WORKER_MAX_MEMORY_PER_CHILD", default=400_000)
# Tasks are acknowledged once they finish. A pool process that dies mid-task has its message put
# back at once by its worker (reject on worker lost); where the whole worker dies (SIGKILL, a lost
# machine), Redis hands the unacknowledged message to another worker after
# CELERY_VISIBILITY_TIMEOUT seconds. Keep that above the longest task (a report's hard time
# limit, below): a message still being worked on past it is delivered a second time, which a
# report's rendering survives (it is idempotent) but which wastes a render. Workers look for such
# messages ten times per timeout, and at least once a minute.
_visibility_timeout = env.int("CELERY_VISIBILITY_TIMEOUT", default=3600)
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": _visibility_timeout,
    "unacked_restore_interval": max(1, min(60, _visibility_timeout // 10)),
    "unacked_restore_throttle": 1,
}

# The largest ingest batch a detector may send, in flags.
INGEST_MAX_BATCH = 1000

# Casework. A review is due this many days after a case opens.
CASE_REVIEW_DUE_DAYS = env.int("CASE_REVIEW_DUE_DAYS", default=28)
# The subject is told of a new case this many hours after it opens, unless a senior reviewer
# defers the notice (with reasons, for at most NOTIFICATION_DEFERRAL_MAX_DAYS) in the meantime.
SUBJECT_NOTICE_DELAY_HOURS = env.int("SUBJECT_NOTICE_DELAY_HOURS", default=24)
NOTIFICATION_DEFERRAL_MAX_DAYS = env.int("NOTIFICATION_DEFERRAL_MAX_DAYS", default=90)
# Every decision gives its reasons: at least this many characters.
DECISION_RATIONALE_MIN_CHARS = env.int("DECISION_RATIONALE_MIN_CHARS", default=20)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="scrutiny@localhost")
# A notice's e-mail is given up (loudly: an error in the log and an audit event) after this
# many failed attempts; the notice stays in the app.
NOTICE_EMAIL_MAX_ATTEMPTS = env.int("NOTICE_EMAIL_MAX_ATTEMPTS", default=10)
# Sent by Celery beat where a broker is configured; `manage.py send_due_notifications` otherwise.
CELERY_BEAT_SCHEDULE = {
    "send-due-notifications": {
        "task": "casework.tasks.send_due_notifications",
        "schedule": 15 * 60,
    },
    "email-unsent-notices": {
        "task": "casework.tasks.email_unsent_notices",
        "schedule": 15 * 60,
    },
    # A grant's expiry takes effect when it falls; this records it and tells both parties.
    "expire-representations": {
        "task": "appeals.tasks.expire_representations",
        "schedule": 15 * 60,
    },
    # Files a rolled-back filing stored and no row names.
    "remove-orphan-attachments": {
        "task": "appeals.tasks.remove_orphan_attachments",
        "schedule": 24 * 60 * 60,
    },
}

# One handler, on the root logger, so each message prints once. Django's defaults give its own
# loggers a console handler of their own under DEBUG (a second copy of every line) and mail to
# ADMINS; here they only propagate to the root, at its level. Celery workers keep this set-up
# instead of adding a handler of their own to the root.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "refusals_without_traceback": {"()": "config.log_filters.RefusalsWithoutTraceback"}
    },
    "formatters": {
        "django.server": {
            "()": "django.utils.log.ServerFormatter",
            "format": "[{server_time}] {message}",
            "style": "{",
        }
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler"},
        "django.server": {
            "level": "INFO",
            "class": "logging.StreamHandler",
            "formatter": "django.server",
        },
    },
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="WARNING")},
    "loggers": {
        "django": {"handlers": [], "level": "NOTSET", "propagate": True},
        "django.request": {"filters": ["refusals_without_traceback"]},
        # runserver's line per request, as Django's defaults have it (configuring "django"
        # would otherwise reset it to propagate to the root, below the root's level).
        "django.server": {"handlers": ["django.server"], "level": "INFO", "propagate": False},
    },
}
CELERY_WORKER_HIJACK_ROOT_LOGGER = False


# Challenges to evidence records and decisions (appeals/). Deadlines are counted in working days
# in England and Wales (appeals/deadlines.py): a data steward acknowledges a challenge within
# CHALLENGE_ACKNOWLEDGE_WORKING_DAYS and decides it within CHALLENGE_DECIDE_WORKING_DAYS of its
# filing; a rejected challenge may be escalated within CHALLENGE_ESCALATION_WINDOW_WORKING_DAYS of
# the decision. The challenger's grounds are at most CHALLENGE_GROUNDS_MAX_CHARS; a steward's
# reasons at least CHALLENGE_REASONS_MIN_CHARS. A representative acts for a member for at most
# REPRESENTATION_MAX_DAYS per grant. A challenge carries at most CHALLENGE_ATTACHMENT_MAX_COUNT
# files (PDF, PNG or JPEG) of at most CHALLENGE_ATTACHMENT_MAX_BYTES each; the view that takes
# them needs a body limit of its own, since BodyLimitMiddleware refuses any page body over
# DATA_UPLOAD_MAX_MEMORY_SIZE.
def positive_int(name: str, default: int) -> int:
    """An integer setting that must be at least 1: a limit of 0 would refuse everything."""
    value = env.int(name, default=default)
    if value < 1:
        raise ImproperlyConfigured(f"{name}={value} must be at least 1.")
    return value


CHALLENGE_ACKNOWLEDGE_WORKING_DAYS = positive_int("CHALLENGE_ACKNOWLEDGE_WORKING_DAYS", 5)
CHALLENGE_DECIDE_WORKING_DAYS = positive_int("CHALLENGE_DECIDE_WORKING_DAYS", 20)
if CHALLENGE_ACKNOWLEDGE_WORKING_DAYS > CHALLENGE_DECIDE_WORKING_DAYS:
    raise ImproperlyConfigured(
        f"CHALLENGE_ACKNOWLEDGE_WORKING_DAYS={CHALLENGE_ACKNOWLEDGE_WORKING_DAYS} must not be more "
        f"than CHALLENGE_DECIDE_WORKING_DAYS={CHALLENGE_DECIDE_WORKING_DAYS}."
    )
CHALLENGE_ESCALATION_WINDOW_WORKING_DAYS = positive_int(
    "CHALLENGE_ESCALATION_WINDOW_WORKING_DAYS", 10
)
CHALLENGE_GROUNDS_MAX_CHARS = positive_int("CHALLENGE_GROUNDS_MAX_CHARS", 5000)
CHALLENGE_REASONS_MIN_CHARS = positive_int("CHALLENGE_REASONS_MIN_CHARS", 40)
CHALLENGE_ATTACHMENT_MAX_BYTES = positive_int("CHALLENGE_ATTACHMENT_MAX_BYTES", 10 * 1024 * 1024)
CHALLENGE_ATTACHMENT_MAX_COUNT = positive_int("CHALLENGE_ATTACHMENT_MAX_COUNT", 5)
REPRESENTATION_MAX_DAYS = positive_int("REPRESENTATION_MAX_DAYS", 365)


def private_files_root(root: Path, served: list[Path]) -> Path:
    """PRIVATE_FILES_ROOT, resolved, once it is known to share nothing with a served directory.

    WhiteNoise serves STATIC_ROOT and every STATICFILES_DIRS entry to anyone who asks; an
    attachment stored inside one of them (or a served directory inside the private one) would be
    readable by its path, past every permission check.
    """
    resolved = root.resolve()
    for directory in served:
        directory = directory.resolve()
        if resolved.is_relative_to(directory) or directory.is_relative_to(resolved):
            raise ImproperlyConfigured(
                f"PRIVATE_FILES_ROOT={resolved} overlaps {directory}, which is served as static "
                "files: set PRIVATE_FILES_ROOT to a directory outside STATIC_ROOT and "
                "STATICFILES_DIRS."
            )
    return resolved


# Attachments are stored here, under attachments/, and nothing serves the directory: a view that
# checks who asks sends each file as a download (appeals/attachments.py). /var/ is git-ignored.
PRIVATE_FILES_ROOT = private_files_root(
    Path(env.path("PRIVATE_FILES_ROOT", default=str(BASE_DIR / "var" / "private"))),
    [Path(STATIC_ROOT)]
    + [Path(str(entry[1] if isinstance(entry, tuple) else entry)) for entry in STATICFILES_DIRS],
)
STORAGES = {
    # Django's own defaults, written out because STORAGES replaces them all.
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    # Challenge attachments, through Django's storage API only, so that a deployment may name an
    # S3-compatible backend (with a private bucket) here instead. Locally: under
    # PRIVATE_FILES_ROOT/attachments (set PRIVATE_FILES_ROOT rather than a location here, so that
    # the check above covers it), readable by Scrutiny's own user alone, and with no URL.
    "private": {
        "BACKEND": "appeals.attachments.PrivateFileSystemStorage",
        "OPTIONS": {"file_permissions_mode": 0o600, "directory_permissions_mode": 0o700},
    },
    # Rendered reports: under PRIVATE_FILES_ROOT/reports, on the same terms.
    "reports": {
        "BACKEND": "reports.storage.ReportFileSystemStorage",
        "OPTIONS": {"file_permissions_mode": 0o600, "directory_permissions_mode": 0o700},
    },
}


def s3_storage(prefix: str) -> dict[str, Any]:
    """An S3-compatible bucket (django-storages), private, files under ``prefix``: shared by
    web and worker processes on different machines. Credentials come the way boto3 finds them
    (AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or the machine's role)."""
    return {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": FILES_S3_BUCKET,
            "endpoint_url": env.str("FILES_S3_ENDPOINT_URL", default="") or None,
            "region_name": env.str("FILES_S3_REGION", default="") or None,
            "location": prefix,
            "default_acl": "private",
            "querystring_auth": True,
            "file_overwrite": False,
        },
    }


# FILES_S3_BUCKET puts attachments and reports in a bucket instead of local files.
FILES_S3_BUCKET = env.str("FILES_S3_BUCKET", default="")
if FILES_S3_BUCKET:
    STORAGES["private"] = s3_storage("attachments")
    STORAGES["reports"] = s3_storage("reports")


# Reports (reports/): rendered by Celery, at most this many at a time per person, each tried this
# many times before it is marked failed.
REPORT_MAX_ATTEMPTS = env.int("REPORT_MAX_ATTEMPTS", default=3)
REPORT_MAX_UNFINISHED_PER_PERSON = env.int("REPORT_MAX_UNFINISHED_PER_PERSON", default=5)
# Where a fresh report may be asked for (the site's /reports/ page, as an absolute URL), printed
# on a superseded report's banner; empty: the banner names the Reports page in words.
REPORTS_URL = env.str("REPORTS_URL", default="")
# A render still running after REPORT_RENDER_SOFT_TIME_LIMIT seconds is interrupted: a failed
# attempt, tried again while attempts are left. One that does not stop by REPORT_RENDER_TIME_LIMIT
# has its worker process killed and its message put back for another try. Celery writes both into
# the message, from the settings of the process that queues it (the web process), so give every
# process the same values.
REPORT_RENDER_SOFT_TIME_LIMIT = env.int("REPORT_RENDER_SOFT_TIME_LIMIT", default=600)
REPORT_RENDER_TIME_LIMIT = env.int("REPORT_RENDER_TIME_LIMIT", default=660)
if not 0 < REPORT_RENDER_SOFT_TIME_LIMIT < REPORT_RENDER_TIME_LIMIT:
    raise ImproperlyConfigured(
        "REPORT_RENDER_SOFT_TIME_LIMIT must be positive and below REPORT_RENDER_TIME_LIMIT."
    )
# An oversight report's period may span at most this many days.
REPORT_MAX_PERIOD_DAYS = env.int("REPORT_MAX_PERIOD_DAYS", default=3 * 366)
# On PostgreSQL, the memory each sort or hash of a report's statistics may use (work_mem, in MB)
# before it spills to disk, set for the report's own read transaction only.
REPORT_WORK_MEM_MB = env.int("REPORT_WORK_MEM_MB", default=64)
if not 1 <= REPORT_WORK_MEM_MB <= 2048:
    raise ImproperlyConfigured("REPORT_WORK_MEM_MB must be between 1 and 2048.")
