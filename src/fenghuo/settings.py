"""Fenghuo settings, read from the environment.

Embedded default: SQLite in the data folder (WAL), one web process, one worker.
Production: set DATABASE_URL to PostgreSQL and run `fenghuo serve` / `fenghuo worker`.
"""

import ipaddress
import json
import os
import secrets
import tempfile
from pathlib import Path
from urllib.parse import urlsplit

import dj_database_url

PACKAGE_DIR = Path(__file__).resolve().parent
# The checkout's root (where package.json and node_modules live) when run from source.
PROJECT_DIR = Path(os.environ.get("FENGHUO_PROJECT_DIR", PACKAGE_DIR.parent.parent))
DATA_DIR = Path(os.environ.get("FENGHUO_DATA_DIR", PROJECT_DIR / "data")).resolve()
DATA_DIR.mkdir(parents=True, exist_ok=True)


def _env_bool(name: str, default: bool = False) -> bool:
    return os.environ.get(name, str(default)).strip().lower() in {"1", "true", "yes", "on"}


def _env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


def _secret_key() -> str:
    """SECRET_KEY from the environment, else generated once and kept in the data folder."""
    if os.environ.get("SECRET_KEY"):
        return os.environ["SECRET_KEY"]
    path = DATA_DIR / "secret_key"
    if not path.exists():
        # Written to a private temporary file, then linked into place: `fenghuo run` starts
        # several processes at once, and none may read a half-written key.
        fd, tmp = tempfile.mkstemp(dir=DATA_DIR, prefix=".secret_key.")  # mode 0600
        try:
            with os.fdopen(fd, "w") as handle:
                handle.write(secrets.token_urlsafe(50))
            os.link(tmp, path)
        except FileExistsError:
            pass  # another process got there first; use its key
        finally:
            os.unlink(tmp)
    key = path.read_text().strip()
    if not key:
        raise RuntimeError(f"{path} 为空：删除该文件后重启会生成新的密钥（现有会话将失效）")
    return key


SECRET_KEY = _secret_key()
DEBUG = _env_bool("FENGHUO_DEBUG")
ALLOWED_HOSTS = _env_list("FENGHUO_ALLOWED_HOSTS", "127.0.0.1,localhost,[::1]")
CSRF_TRUSTED_ORIGINS = _env_list("FENGHUO_CSRF_TRUSTED_ORIGINS", "")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "treebeard",
    "django_tasks",
    "django_tasks_db",
    "axes",
    "fenghuo.core",
    "fenghuo.org",
    "fenghuo.notify",
    "fenghuo.criteria",
    "fenghuo.events",
    "fenghuo.intake",
    "fenghuo.escalation",
    "fenghuo.alerts",
    "fenghuo.response",
    "fenghuo.release",
    "fenghuo.opinion",
    "fenghuo.assess",
    "fenghuo.drills",
    "fenghuo.desk",
    "fenghuo.ops",
]

MIDDLEWARE = [
    # First: the request id, metrics and access log cover everything below (ops/middleware.py).
    "fenghuo.ops.middleware.RequestObservationMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "django_permissions_policy.PermissionsPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "fenghuo.core.ratelimit.RateLimitMiddleware",
    "fenghuo.core.middleware.OutOfRangeMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, so it sees the login view's failed authentications (see "Security" below).
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "fenghuo.urls"
ASGI_APPLICATION = "fenghuo.asgi.application"
WSGI_APPLICATION = "fenghuo.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [PACKAGE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
                "fenghuo.context_processors.public_site",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL", f"sqlite:///{DATA_DIR / 'fenghuo.sqlite3'}"),
        conn_max_age=int(os.environ.get("FENGHUO_CONN_MAX_AGE", "0")),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the web process read while the worker writes; IMMEDIATE takes the write
    # lock at BEGIN so two writers queue on busy_timeout instead of failing mid-transaction.
    DATABASES["default"]["OPTIONS"] = {
        "init_command": (
            "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; "
            "PRAGMA busy_timeout=10000; PRAGMA foreign_keys=ON;"
        ),
        "transaction_mode": "IMMEDIATE",
    }
    DATABASES["default"]["TEST"] = {"NAME": os.environ.get("FENGHUO_TEST_SQLITE_NAME")}
else:
    DATABASES["default"]["TEST"] = {"NAME": os.environ.get("FENGHUO_TEST_DB_NAME")}
    if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql" and _env_bool(
        "FENGHUO_DB_POOL", default=True
    ):
        # A new PostgreSQL connection per request costs a backend fork and its catalogue
        # warm-up (~5-8 ms of the same two cores); psycopg_pool keeps a few per process.
        # Under ASGI every request runs in a thread of its own, so persistent connections
        # (CONN_MAX_AGE) would pile up; a bounded pool does not.
        DATABASES["default"]["CONN_MAX_AGE"] = 0
        DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
            "min_size": 1,
            "max_size": int(os.environ.get("FENGHUO_DB_POOL_SIZE", "10")),
            "timeout": float(os.environ.get("FENGHUO_DB_POOL_TIMEOUT", "30")),
        }

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "org.Person"

PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "duty-desk"
LOGOUT_REDIRECT_URL = "login"
SESSION_COOKIE_AGE = int(os.environ.get("FENGHUO_SESSION_SECONDS", str(12 * 3600)))
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True
LOCALE_PATHS = [PACKAGE_DIR / "locale"]

STATIC_URL = "static/"
STATIC_ROOT = DATA_DIR / "static"
STATIC_ROOT.mkdir(exist_ok=True)  # whitenoise warns on every start if it is missing
STATICFILES_DIRS = [PACKAGE_DIR / "static"]
# Front-end libraries come from the npm registry (package-lock.json) and are served
# from node_modules, never from a CDN: duty-office networks are often offline.
NODE_MODULES = Path(os.environ.get("FENGHUO_NODE_MODULES", PROJECT_DIR / "node_modules"))
VENDOR_LIBRARIES = {
    "htmx": "htmx.org/dist",
    "echarts": "echarts/dist",
    "leaflet": "leaflet/dist",
    "leaflet-geoman": "@geoman-io/leaflet-geoman-free/dist",
}
STATICFILES_DIRS += [
    (f"vendor/{name}", NODE_MODULES / sub)
    for name, sub in VENDOR_LIBRARIES.items()
    if (NODE_MODULES / sub).is_dir()
]
WHITENOISE_USE_FINDERS = True
MEDIA_ROOT = DATA_DIR / "media"
MEDIA_URL = "media/"
# Report attachments, never served as public media: largest file per kind (MB), checked
# against the type the content shows, and how many files one report may carry.
FENGHUO_ATTACHMENT_MAX_MB = {"image": 20, "audio": 50, "video": 300, "document": 50}
FENGHUO_ATTACHMENTS_PER_REPORT = int(os.environ.get("FENGHUO_ATTACHMENTS_PER_REPORT", "20"))

TASKS = {
    "default": {
        "BACKEND": os.environ.get("FENGHUO_TASK_BACKEND", "django_tasks_db.DatabaseBackend"),
    }
}
# A worker whose heartbeat is older than this is shown as down on the duty desk.
FENGHUO_WORKER_STALE_SECONDS = int(os.environ.get("FENGHUO_WORKER_STALE_SECONDS", "60"))
FENGHUO_HEARTBEAT_SECONDS = float(os.environ.get("FENGHUO_HEARTBEAT_SECONDS", "10"))
# The duty desk's map tiles, e.g. "http://tiles.intranet/{z}/{x}/{y}.png". Empty by default:
# duty networks are often offline, so the map draws events on a plain background.
FENGHUO_MAP_TILE_URL = os.environ.get("FENGHUO_MAP_TILE_URL", "")
FENGHUO_MAP_ATTRIBUTION = os.environ.get("FENGHUO_MAP_ATTRIBUTION", "")
# Polling loops `fenghuo worker` runs beside the task queue (see core/loops.py):
# "module:function" → seconds to sleep when a step found nothing due.
FENGHUO_WORKER_LOOPS: dict[str, float] = {
    "fenghuo.core.services:audit_chain_pending": 0.5,
    "fenghuo.notify.dispatch:deliver_due": 0.2,
    "fenghuo.escalation.deadlines:mark_overdue": 0.5,
    "fenghuo.escalation.deadlines:run_escalations": 0.5,
    "fenghuo.response.tasks:mark_overdue_tasks": 1.0,
    "fenghuo.opinion.feeds:poll_feeds": 5.0,
    "fenghuo.opinion.topics:sweep_quiet": 60.0,
    "fenghuo.assess.tasks:assess_due": 2.0,
    "fenghuo.drills.tasks:advance_drills": 0.5,
}

# Notifications (notify/): a person's external channels in order (in-app always comes
# first), retries with exponential backoff, then a dead letter. See notify/services.py.
FENGHUO_NOTIFY_MAX_ATTEMPTS = int(os.environ.get("FENGHUO_NOTIFY_MAX_ATTEMPTS", "8"))
FENGHUO_NOTIFY_BACKOFF_SECONDS = float(os.environ.get("FENGHUO_NOTIFY_BACKOFF_SECONDS", "10"))
FENGHUO_NOTIFY_BACKOFF_CAP_SECONDS = float(
    os.environ.get("FENGHUO_NOTIFY_BACKOFF_CAP_SECONDS", "1800")
)
# A claimed message is due again after this long (its worker died mid-send); keep it well
# above the send timeout.
FENGHUO_NOTIFY_LEASE_SECONDS = float(os.environ.get("FENGHUO_NOTIFY_LEASE_SECONDS", "120"))
FENGHUO_NOTIFY_TIMEOUT_SECONDS = float(os.environ.get("FENGHUO_NOTIFY_TIMEOUT_SECONDS", "10"))
FENGHUO_NOTIFY_THREADS = int(os.environ.get("FENGHUO_NOTIFY_THREADS", "4"))  # per lane
FENGHUO_NOTIFY_EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
FENGHUO_NOTIFY_MAIL_DOMAIN = os.environ.get("FENGHUO_NOTIFY_MAIL_DOMAIN", "fenghuo.local")
# SMS: {"provider": "http", "url": …, "template": {…}} or {"provider": "aliyun", …};
# see notify/transports.py (Sms). JSON in FENGHUO_NOTIFY_SMS.
FENGHUO_NOTIFY_SMS: dict = json.loads(os.environ.get("FENGHUO_NOTIFY_SMS", "{}"))
# The public pages' name (no login: warnings, releases, feeds).
FENGHUO_PUBLIC_SITE_NAME = os.environ.get("FENGHUO_PUBLIC_SITE_NAME", "示范省突发事件信息公开")
# Where links in notifications point (e-mail, SMS, robots).
FENGHUO_BASE_URL = os.environ.get("FENGHUO_BASE_URL", "http://127.0.0.1:8000")
# Empty: no mail server configured, so e-mail is left out of the default chain below.
EMAIL_HOST = os.environ.get("FENGHUO_EMAIL_HOST", "")
EMAIL_PORT = int(os.environ.get("FENGHUO_EMAIL_PORT", "25"))
EMAIL_HOST_USER = os.environ.get("FENGHUO_EMAIL_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("FENGHUO_EMAIL_PASSWORD", "")
EMAIL_USE_TLS = _env_bool("FENGHUO_EMAIL_TLS")
DEFAULT_FROM_EMAIL = os.environ.get("FENGHUO_EMAIL_FROM", "烽火 <fenghuo@fenghuo.local>")
# A person's external channels, in order, after in-app. Unset: the channels this
# installation has configured (a fresh demo has none, and sends in-app only, instead of
# filling the desk with dead letters). Set explicitly, it is honoured as written, and a
# channel that cannot work shows up as dead letters on the duty desk.
FENGHUO_NOTIFY_CHAIN = _env_list(
    "FENGHUO_NOTIFY_CHAIN",
    ",".join(
        name
        for name, configured in (("email", EMAIL_HOST), ("sms", FENGHUO_NOTIFY_SMS.get("provider")))
        if configured
    ),
)

# Enables /_bench/hello, the bare Django view the benchmarks measure against.
FENGHUO_BENCH = _env_bool("FENGHUO_BENCH")
# Processes per web process that run the opinion stream's batches (opinion/offload.py), and
# their nice level; 0 runs them in the request's thread. `fenghuo serve` defaults to 1.
FENGHUO_OPINION_PROCESSES = int(os.environ.get("FENGHUO_OPINION_PROCESSES", "0"))
FENGHUO_OPINION_NICE = int(os.environ.get("FENGHUO_OPINION_NICE", "10"))

# Operations (ops/): /metrics answers these addresses (networks allowed) or a request with
# "Authorization: Bearer <FENGHUO_METRICS_TOKEN>"; everyone else gets 403.
FENGHUO_METRICS_ALLOW = [
    ipaddress.ip_network(item, strict=False)
    for item in _env_list("FENGHUO_METRICS_ALLOW", "127.0.0.1/8,::1")
]
FENGHUO_METRICS_TOKEN = os.environ.get("FENGHUO_METRICS_TOKEN", "")
# Where `fenghuo serve`'s web processes keep their request counters (prometheus_client's
# multiprocess files): local disk, not data to back up.
FENGHUO_METRICS_DIR = Path(os.environ.get("FENGHUO_METRICS_DIR", DATA_DIR / "metrics")).resolve()

# Logs: "plain" text lines, or "json" (one JSON object per line, with the request id, user,
# path, status and duration of each request: see ops/logs.py and ops/middleware.py). The
# access log (logger fenghuo.request, one line per request) is on by default with json.
FENGHUO_LOG_FORMAT = os.environ.get("FENGHUO_LOG_FORMAT", "plain").strip().lower()
FENGHUO_ACCESS_LOG = _env_bool("FENGHUO_ACCESS_LOG", default=FENGHUO_LOG_FORMAT == "json")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": "%(levelname)s %(name)s %(process)d %(message)s",
            "timestamp": "time",  # ISO 8601, UTC
            "rename_fields": {"levelname": "level", "name": "logger"},
            "json_ensure_ascii": False,
            "json_default": "ext://fenghuo.ops.logs.json_default",
        },
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "json" if FENGHUO_LOG_FORMAT == "json" else "plain",
        }
    },
    "root": {"handlers": ["console"], "level": os.environ.get("FENGHUO_LOG_LEVEL", "INFO")},
    # httpx logs every request at INFO: one line per notification sent.
    # axes logs every sign-in at INFO; failures and lockouts are WARNING.
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        "httpx": {"level": "WARNING"},
        "axes": {"level": "WARNING"},
        "fenghuo.request": {"level": "INFO" if FENGHUO_ACCESS_LOG else "WARNING"},
    },
}

# --- Security (docs/architecture.md "Security") -------------------------------------------
# Reverse proxies whose X-Forwarded-For is believed: addresses or networks, comma-separated.
# Empty (the default) trusts no header and takes the peer address. See core/net.py.
FENGHUO_TRUSTED_PROXIES = _env_list("FENGHUO_TRUSTED_PROXIES", "")
# Served over HTTPS (usually TLS ends at the proxy): secure cookies, HSTS, and the proxy's
# X-Forwarded-Proto is believed, so the proxy must set it.
FENGHUO_HTTPS = _env_bool("FENGHUO_HTTPS")
if FENGHUO_HTTPS:
    SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = int(os.environ.get("FENGHUO_HSTS_SECONDS", str(365 * 24 * 3600)))
    if FENGHUO_TRUSTED_PROXIES:
        SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_REFERRER_POLICY = "same-origin"
PERMISSIONS_POLICY: dict[str, list[str]] = {
    feature: []
    for feature in (
        "camera",
        "microphone",
        "geolocation",
        "payment",
        "usb",
        "serial",
        "bluetooth",
        "midi",
        "accelerometer",
        "gyroscope",
        "magnetometer",
        "display-capture",
    )
}


def _origin(url: str) -> str:
    """The CSP source of a tile URL template ("{s}" subdomains become a wildcard)."""
    parts = urlsplit(url.replace("{s}", "*"))
    return f"{parts.scheme}://{parts.netloc}" if parts.netloc else ""


# No inline script anywhere (scripts are static files wired by data- attributes; htmx's
# hx-on and eval are off). Styles: 'self' for style sheets and <style> elements, and style
# attributes allowed: Leaflet, Leaflet-Geoman and ECharts' tooltips write style attributes
# into markup they build, and a style attribute cannot run script.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "style-src-attr": ["'unsafe-inline'"],
        "img-src": ["'self'", "data:", *filter(None, [_origin(FENGHUO_MAP_TILE_URL)])],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}

# Sign-in throttling (django-axes): FENGHUO_LOGIN_FAILURES wrong passwords for one user name
# from one address lock that pair out for FENGHUO_LOGIN_LOCKOUT_MINUTES (429, in Chinese).
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = int(os.environ.get("FENGHUO_LOGIN_FAILURES", "5"))
AXES_COOLOFF_TIME = float(os.environ.get("FENGHUO_LOGIN_LOCKOUT_MINUTES", "15")) / 60
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_CLIENT_IP_CALLABLE = "fenghuo.core.net.client_ip"
AXES_LOCKOUT_CALLABLE = "fenghuo.org.views.locked_out"
AXES_VERBOSE = False

# Request rate limits (core/ratelimit.py, django-ratelimit): "count/period" per client,
# counted in a cache every web process shares: on PostgreSQL the database; on SQLite (one
# machine by definition) files in the data folder, because a database cache would add a
# write, and so a turn at SQLite's single write lock, to every request. "" turns one off.
_SQLITE = DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3"
CACHES = {
    "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
    "ratelimit": {
        "BACKEND": os.environ.get(
            "FENGHUO_RATELIMIT_CACHE_BACKEND",
            "django.core.cache.backends.filebased.FileBasedCache"
            if _SQLITE
            else "fenghuo.core.counters.CounterCache",
        ),
        "LOCATION": os.environ.get(
            "FENGHUO_RATELIMIT_CACHE_LOCATION",
            str(DATA_DIR / "ratelimit") if _SQLITE else "fenghuo_ratecount",
        ),
        "OPTIONS": {"MAX_ENTRIES": 100_000},
    },
}
RATELIMIT_USE_CACHE = "ratelimit"
FENGHUO_RATELIMITS = {
    "public": os.environ.get("FENGHUO_RATELIMIT_PUBLIC", "300/m"),
    "api": os.environ.get("FENGHUO_RATELIMIT_API", "1200/m"),
    "login": os.environ.get("FENGHUO_RATELIMIT_LOGIN", "30/m"),
}
if FENGHUO_LOG_FORMAT == "json":
    # uvicorn configures its own text handlers before it loads the application; from then
    # on its lines are JSON like the rest.
    LOGGING["loggers"]["uvicorn"] = {"handlers": ["console"], "level": "INFO", "propagate": False}
