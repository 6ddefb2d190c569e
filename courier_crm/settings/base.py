"""Settings for every environment. Everything that differs between machines comes from the
environment (or a `.env`-style file named by CRM_ENV_FILE); nothing secret is committed."""
from datetime import timedelta
from pathlib import Path
from urllib.parse import unquote

import environ
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent.parent

env = environ.Env()
# CRM_ENV_FILE names a file of settings; on a developer machine `make run` / `make test` leave
# the last environment they used in .data/env, so `manage.py` works on its own there too.
_env_file = env.str("CRM_ENV_FILE", default="") or str(BASE_DIR / ".data" / "env")
if Path(_env_file).is_file():
    environ.Env.read_env(_env_file, overwrite=False)

SECRET_KEY = env.str("DJANGO_SECRET_KEY")
DEBUG = env.bool("DJANGO_DEBUG", default=False)
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["127.0.0.1", "localhost"])
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.admin",
    "django.contrib.postgres",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "guardian",
    "django_htmx",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "axes",
    "csp",
    "tenancy",
    "compliance",
    "customers",
    "shipments",
    "tickets",
    "penalties",
    "reports",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "tenancy.middleware.RequestIdMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "tenancy.middleware.TenantScopeMiddleware",
    "tenancy.middleware.TwoFactorMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # Last, as django-axes requires: it turns a lockout signal into the lockout response.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "courier_crm.urls"
WSGI_APPLICATION = "courier_crm.wsgi.application"
ASGI_APPLICATION = "courier_crm.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "tenancy.context_processors.tenant_context",
            ],
        },
    },
]

# --- database -------------------------------------------------------------------------------
# DATABASE_URL is the application role (not superuser, not BYPASSRLS, not the tables' owner).
# DATABASE_OWNER_URL is the role that owns the tables; `CRM_DB_AS_OWNER=1` makes this process
# connect as the owner — only migrations and the role bootstrap do that.
_db_url_var = "DATABASE_OWNER_URL" if env.bool("CRM_DB_AS_OWNER", default=False) else "DATABASE_URL"
DATABASES = {"default": env.db_url(_db_url_var)}
# A unix-socket directory is written percent-encoded in the URL host (%2Fpath%2Fto%2Fsocket).
DATABASES["default"]["HOST"] = unquote(str(DATABASES["default"]["HOST"] or ""))
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DB_CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DATABASES["default"]["ENGINE"] = "django.db.backends.postgresql"
DATABASE_APP_ROLE = env.str("CRM_DB_APP_ROLE", default="") or env.db_url("DATABASE_URL")["USER"]
DATABASE_OWNER_ROLE = env.str("CRM_DB_OWNER_ROLE", default="")
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- redis / celery ---------------------------------------------------------------------------
REDIS_URL = env.str("REDIS_URL")
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": env.str("CRM_CACHE_PREFIX", default="crm"),
    }
}
CELERY_BROKER_URL = REDIS_URL
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = "Asia/Shanghai"
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_ALWAYS_EAGER = False

# --- auth -------------------------------------------------------------------------------------
AUTH_USER_MODEL = "tenancy.User"
AUTHENTICATION_BACKENDS = [
    # First: refuses to authenticate while a username + IP is locked out.
    "axes.backends.AxesStandaloneBackend",
    "tenancy.auth_backends.TenantRoleBackend",
    # Object rights *inside* a tenant (an account's owner, a ticket's assignee).
    "guardian.backends.ObjectPermissionBackend",
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
     "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
GUARDIAN_ANONYMOUS_USER_NAME = None
ANONYMOUS_USER_NAME = None
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_AGE = 60 * 60 * 10
# Sessions are written through to the database and read from Redis: no query per page view.
SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"

# Lockout after 5 failed logins for one username from one IP, for 15 minutes (django-axes).
AXES_FAILURE_LIMIT = env.int("CRM_LOGIN_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("CRM_LOGIN_LOCKOUT_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "tenancy/locked_out.html"
AXES_VERBOSE = False
# django-otp: the issuer shown in authenticator apps.
OTP_TOTP_ISSUER = env.str("CRM_OTP_ISSUER", default="Courier CRM")
# Roles that must use two-factor login (enrolment is forced at their first login).
CRM_TWO_FACTOR_REQUIRED_ROLES = ["tenant_admin"]

# Content-Security-Policy on every response: only our own files, no inline script or style.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'", "data:"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    },
}

# --- i18n -------------------------------------------------------------------------------------
LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", _("Simplified Chinese")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = env.path("DJANGO_STATIC_ROOT", default=str(BASE_DIR / "staticfiles"))
# Outbound mail (ticket replies by email, surveys): SMTP in production via the env settings;
# development prints to the console.
EMAIL_BACKEND = env.str("CRM_EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = env.str("CRM_EMAIL_HOST", default="localhost")
EMAIL_PORT = env.int("CRM_EMAIL_PORT", default=25)
EMAIL_HOST_USER = env.str("CRM_EMAIL_USER", default="")
EMAIL_HOST_PASSWORD = env.str("CRM_EMAIL_PASSWORD", default="")
EMAIL_USE_TLS = env.bool("CRM_EMAIL_TLS", default=False)
DEFAULT_FROM_EMAIL = env.str("CRM_EMAIL_FROM", default="service@courier-crm.local")
# SMS / WeChat gateway for ticket replies (tickets.channels.WebhookAdapter).
CRM_MESSAGE_WEBHOOK_URL = env.str("CRM_MESSAGE_WEBHOOK_URL", default="")
CRM_MESSAGE_WEBHOOK_SECRET = env.str("CRM_MESSAGE_WEBHOOK_SECRET", default="")
# Which adapter delivers each channel's replies (tickets.channels.DEFAULT_ADAPTERS, overridable
# here). A development server without a gateway writes SMS/WeChat/app replies to its log.
CRM_CHANNEL_ADAPTERS = (
    {channel: "tickets.channels.ConsoleAdapter" for channel in ("wechat", "app", "api", "sms")}
    if DEBUG and not CRM_MESSAGE_WEBHOOK_URL else {}
)

# Uploaded files (ticket attachments, evidence). Never served by URL: downloads go through views
# that check the tenant and the permission.
MEDIA_ROOT = env.path("CRM_MEDIA_ROOT", default=str(BASE_DIR / ".data" / "media"))
MEDIA_URL = "/media-not-served/"
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024

# --- API --------------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "tenancy.api.authentication.ScopedSessionAuthentication",
        "tenancy.api.authentication.ScopedTokenAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["tenancy.api.permissions.IsTenantMember"],
    "DEFAULT_PAGINATION_CLASS": "tenancy.api.pagination.IdCursorPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "tenancy.api.errors.error_envelope_handler",
    "DEFAULT_FILTER_BACKENDS": [
        "tenancy.api.filters.DeclaredFiltersBackend",
        "rest_framework.filters.OrderingFilter",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "login": env.str("CRM_THROTTLE_LOGIN", default="10/min"),
        "reveal": env.str("CRM_THROTTLE_REVEAL", default="30/min"),
        "export": env.str("CRM_THROTTLE_EXPORT", default="10/min"),
        "public_lead": env.str("CRM_THROTTLE_PUBLIC_LEAD", default="5/min"),
        "public_ticket": env.str("CRM_THROTTLE_PUBLIC_TICKET", default="5/min"),
        "ledger_verify": env.str("CRM_THROTTLE_LEDGER_VERIFY", default="6/min"),
    },
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Courier CRM API",
    "DESCRIPTION": "Tenant-scoped REST API of Courier CRM. Authenticate with a session (browser) "
    "or `Authorization: Token <key>` (integrations). Errors use "
    '`{"error": {"code", "message", "fields"}}`.',
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # Choice sets that share a field name across apps get their own schema names.
    "ENUM_NAME_OVERRIDES": {
        "WaybillStatusEnum": "shipments.models.WaybillStatus",
        "BranchKindEnum": "tenancy.models.BranchKind",
        "ConsentSourceEnum": "shipments.models.ConsentSource",
        "CustomerStatusEnum": "customers.models.CustomerStatus",
        "EditableCustomerStatusEnum": "customers.api.serializers.EDITABLE_STATUSES",
        "PersonConsentSourceEnum": "compliance.models.ConsentSource",
        "ConsentPurposeEnum": "compliance.models.ConsentPurpose",
        "DsrKindEnum": "compliance.models.DsrKind",
        "DsrStatusEnum": "compliance.models.DsrStatus",
    },
    "COMPONENT_SPLIT_REQUEST": True,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
    # Swagger UI is served from our own static files (no CDN; the CSP allows only 'self').
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

# --- personal data ----------------------------------------------------------------------------
# The master key wraps every tenant's data and index keys. It lives outside the database: either
# CRM_MASTER_KEY (base64 of 32 bytes) or a file named by CRM_MASTER_KEY_FILE.
CRM_MASTER_KEY = env.str("CRM_MASTER_KEY", default="")
CRM_MASTER_KEY_FILE = env.str("CRM_MASTER_KEY_FILE", default="")
# Master keys replaced by a rotation, still needed to unwrap company keys until the "master key"
# rotation has re-wrapped them all (docs/compliance.md): comma-separated, or one per line in a file.
CRM_MASTER_KEYS_RETIRED = env.str("CRM_MASTER_KEYS_RETIRED", default="")
CRM_MASTER_KEYS_RETIRED_FILE = env.str("CRM_MASTER_KEYS_RETIRED_FILE", default="")
# How long a process trusts its cached "active key version" before reading it again: a rotation
# started elsewhere takes effect everywhere within this time.
CRM_ACTIVE_KEY_TTL_SECONDS = env.float("CRM_ACTIVE_KEY_TTL_SECONDS", default=60)
# The Ed25519 key that signs fine-ledger checkpoints (base64 of a 32-byte seed), or a file holding
# it; unset, it is derived from the master key. Public keys (base64, raw) of retired signing keys
# whose checkpoints stay verifiable: CRM_LEDGER_RETIRED_PUBLIC_KEYS, comma-separated.
CRM_LEDGER_SIGNING_KEY = env.str("CRM_LEDGER_SIGNING_KEY", default="")
CRM_LEDGER_SIGNING_KEY_FILE = env.str("CRM_LEDGER_SIGNING_KEY_FILE", default="")
CRM_LEDGER_RETIRED_PUBLIC_KEYS = env.list("CRM_LEDGER_RETIRED_PUBLIC_KEYS", default=[])

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("CRM_LOG_LEVEL", default="INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}, "axes": {"level": "WARNING"}},
}

# --- surveys (issue 10) -----------------------------------------------------------------------
# How survey links reach people (tickets.gateways): "live" (SMTP email, SMS/WeChat webhooks),
# "file" (one JSON file per message in CRM_SURVEY_OUTBOX_DIR) or "console" (the log). Production
# settings send for real; development and tests write files.
CRM_SURVEY_GATEWAY = env.str("CRM_SURVEY_GATEWAY", default="file")  # production.py: "live"
CRM_SURVEY_OUTBOX_DIR = env.str("CRM_SURVEY_OUTBOX_DIR", default=str(BASE_DIR / ".data" / "survey-outbox"))
# A pause before each file write (milliseconds): the fault tests use it to kill a worker mid-send.
CRM_SURVEY_FILE_DELAY_MS = env.int("CRM_SURVEY_FILE_DELAY_MS", default=0)
CRM_SMS_WEBHOOK_URL = env.str("CRM_SMS_WEBHOOK_URL", default="")
CRM_WECHAT_WEBHOOK_URL = env.str("CRM_WECHAT_WEBHOOK_URL", default="")
CRM_SURVEY_WEBHOOK_SECRET = env.str("CRM_SURVEY_WEBHOOK_SECRET", default="")
CRM_SURVEY_WEBHOOK_TIMEOUT = env.float("CRM_SURVEY_WEBHOOK_TIMEOUT", default=10.0)
# The domain in survey emails' Message-IDs, and the address the links in messages start with.
CRM_SURVEY_MESSAGE_ID_DOMAIN = env.str("CRM_SURVEY_MESSAGE_ID_DOMAIN", default="courier-crm.local")
CRM_PUBLIC_BASE_URL = env.str("CRM_PUBLIC_BASE_URL", default="http://127.0.0.1:8000")
# The public answer page is throttled per IP (tenancy.throttling).
REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]["public_survey"] = env.str("CRM_THROTTLE_PUBLIC_SURVEY", default="20/min")

# --- background jobs (issue 10) ---------------------------------------------------------------
# Publishing a task must not hang a web request while Redis is down: two quick retries (under a
# second in all), then the error, which `enqueue_on_commit` logs; the job's sweep finds the row
# by its state and queues it again (ARCHITECTURE.md §6).
CELERY_TASK_PUBLISH_RETRY = True
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 2, "interval_start": 0, "interval_step": 0.2, "interval_max": 0.5}
CELERY_BROKER_CONNECTION_TIMEOUT = env.float("CELERY_BROKER_CONNECTION_TIMEOUT", default=2.0)
CELERY_BROKER_TRANSPORT_OPTIONS = {
    # A message taken but not acknowledged (acks_late, or a retry waiting for its countdown) goes
    # back to the queue after this long. It must outlast the longest task and the longest retry
    # countdown (600 s), or a task still running would be delivered to a second worker; six hours
    # is far above both, and a host that died is covered sooner by each job's sweep.
    "visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", default=6 * 3600),
    "socket_connect_timeout": 2,
    "socket_timeout": 10,
}
CELERY_RESULT_BACKEND_TRANSPORT_OPTIONS = {"socket_connect_timeout": 2}
# A task that raised (after its retries) is acknowledged, not redelivered: the same input fails
# the same way, so it becomes a dead letter that a tenant admin can send again once fixed.
CELERY_TASK_ACKS_ON_FAILURE_OR_TIMEOUT = True
# A worker process killed mid-task (OOM, SIGKILL) does not put the message back at once: a task
# that kills its worker would otherwise loop forever. Its job's sweep picks the work up by state.
CELERY_TASK_REJECT_ON_WORKER_LOST = False
# When the broker connection drops, long-running acks_late tasks are cancelled: their messages are
# redelivered, and running them twice at the same time is what acks_late must never cause.
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = True
