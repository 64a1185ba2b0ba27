"""Django settings of the township console, all from the environment (no settings file to edit).

    TOWNSHIP_DATABASE_URL   postgresql://USER@/DB?host=/run/postgresql (required)
    TOWNSHIP_SECRET_KEY     sessions and CSRF: the value, or the path of a file holding it (a value with a
                            `/` is a path, and the file must exist).  The console refuses to start without it.
    TOWNSHIP_ALLOWED_HOSTS  comma-separated (default 127.0.0.1,localhost)
    TOWNSHIP_CSRF_TRUSTED_ORIGINS  comma-separated origins the office's browsers use, e.g.
                            https://console.example (behind a TLS proxy: nginx, caddy)
    TOWNSHIP_HTTPS          1: served through a TLS proxy (the default when a trusted origin is https://):
                            the proxy's X-Forwarded-Proto is believed, cookies are Secure
    TOWNSHIP_TIME_ZONE      the county's zone, whose calendar days are reported (default Asia/Shanghai)
    TOWNSHIP_BROKER         mqtt(s)://HOST:PORT to push policies to; TOWNSHIP_BROKER_CA/_CERT/_KEY for TLS
    TOWNSHIP_KEYS_DIR       one folder per township id, each holding that township's config-signing.pem
                            (signs its policies) and seal.pem (unseals its subject ids, privacy role only);
                            readable by the console's user only (township/README.md: keys)
    TOWNSHIP_REPORT_DIR     where the scheduled daily report files go
    TOWNSHIP_LOGIN_FAILURES failed logins of one user from one address before a lock-out (default 5)
    TOWNSHIP_DEBUG          1 for development
"""

from __future__ import annotations

import os
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured
from psycopg.conninfo import conninfo_to_dict

BASE_DIR = Path(__file__).resolve().parent
DEBUG = os.environ.get("TOWNSHIP_DEBUG") == "1"


def _secret() -> str:
    """The key, or "" (then `township console` and the ASGI application refuse to start).

    A value with a `/` in it is a file's path (Django's and `secrets`' keys have none): a path that
    does not exist is a mistake to report, never a key to use.
    """
    value = os.environ.get("TOWNSHIP_SECRET_KEY", "").strip()
    if "/" not in value:
        return value
    try:
        key = Path(value).read_text().strip()
    except OSError as exc:
        raise ImproperlyConfigured(f"TOWNSHIP_SECRET_KEY names the file {value}, which cannot be read "
                                   f"({exc.strerror})") from None
    if len(key) < 32:
        raise ImproperlyConfigured(f"TOWNSHIP_SECRET_KEY: the file {value} holds no key of 32 characters or more")
    return key


def _list(name: str, default: str = "") -> list[str]:
    return [v.strip() for v in os.environ.get(name, default).split(",") if v.strip()]


def database(url: str) -> dict[str, object]:
    """Django's DATABASES entry from a libpq URL or key=value string."""
    info = conninfo_to_dict(url)
    return {"ENGINE": "django.db.backends.postgresql", "NAME": info.pop("dbname", "township"),
            "USER": info.pop("user", ""), "PASSWORD": info.pop("password", ""), "HOST": info.pop("host", ""),
            "PORT": info.pop("port", ""), "OPTIONS": info, "CONN_MAX_AGE": 0}


SECRET_KEY = _secret()
ALLOWED_HOSTS = _list("TOWNSHIP_ALLOWED_HOSTS", "127.0.0.1,localhost")
# Behind the documented TLS proxy the browser's Origin is https://console.example while uvicorn sees
# plain HTTP: without these, Django's CSRF check refuses every POST, the login first.
CSRF_TRUSTED_ORIGINS = _list("TOWNSHIP_CSRF_TRUSTED_ORIGINS")
HTTPS = os.environ.get("TOWNSHIP_HTTPS", "1" if any(o.startswith("https://") for o in CSRF_TRUSTED_ORIGINS)
                       else "0") == "1"
if HTTPS:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")  # the proxy says the browser spoke TLS
    SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = True
DATABASE_URL = os.environ.get("TOWNSHIP_DATABASE_URL", "postgresql:///township")
DATABASES = {"default": database(DATABASE_URL)}

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "township.console.apps.ConsoleConfig",
    "axes",  # login throttling (django-axes): failed logins per user name and address, then a lock-out
]
AUTHENTICATION_BACKENDS = ["axes.backends.AxesStandaloneBackend", "django.contrib.auth.backends.ModelBackend"]
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "township.console.language.ChineseFirstMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "axes.middleware.AxesMiddleware",
]
ROOT_URLCONF = "township.console.urls"
TEMPLATES = [{
    "BACKEND": "django.template.backends.django.DjangoTemplates",
    "DIRS": [],
    "APP_DIRS": True,
    "OPTIONS": {"context_processors": [
        "django.template.context_processors.request",
        "django.contrib.auth.context_processors.auth",
        "django.contrib.messages.context_processors.messages",
        "django.template.context_processors.i18n",
    ]},
}]
ASGI_APPLICATION = "township.console.asgi.application"
AUTH_PASSWORD_VALIDATORS = [{"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"}]
LOGIN_URL = "/login/"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/login/"

LANGUAGE_CODE = "zh-hans"  # Chinese first; English one click away (the set_language view)
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
USE_I18N = True
USE_TZ = True
TIME_ZONE = os.environ.get("TOWNSHIP_TIME_ZONE", "Asia/Shanghai")
STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "static"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = True  # no script reads it: htmx sends the token from the page's hx-headers
# Login throttling: this many failures of one user name from one address lock that pair out for an hour
# (uvicorn sets the client address from the local proxy's X-Forwarded-For; nothing else is believed).
AXES_FAILURE_LIMIT = int(os.environ.get("TOWNSHIP_LOGIN_FAILURES", "5"))
AXES_COOLOFF_TIME = 1  # hours
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_LOCKOUT_TEMPLATE = "console/locked.html"
AXES_RESET_ON_SUCCESS = True
AXES_VERBOSE = False
AXES_IPWARE_META_PRECEDENCE_ORDER = ["REMOTE_ADDR"]

TOWNSHIP_BROKER = os.environ.get("TOWNSHIP_BROKER", "")
TOWNSHIP_BROKER_TLS = tuple(os.environ.get(f"TOWNSHIP_BROKER_{n}", "") for n in ("CA", "CERT", "KEY"))
TOWNSHIP_KEYS_DIR = os.environ.get("TOWNSHIP_KEYS_DIR", "")
TOWNSHIP_REPORT_DIR = os.environ.get("TOWNSHIP_REPORT_DIR", "")
HEALTH_STALE_S = int(os.environ.get("TOWNSHIP_HEALTH_STALE_S", "900"))
LOGGING = {"version": 1, "disable_existing_loggers": False,
           "handlers": {"console": {"class": "logging.StreamHandler"}},
           "root": {"handlers": ["console"], "level": "WARNING"}}
