"""Django settings of the township console, all from the environment (no settings file to edit).

    TOWNSHIP_DATABASE_URL   postgresql://USER@/DB?host=/run/postgresql (required)
    TOWNSHIP_SECRET_KEY     sessions and CSRF (required outside DEBUG; a file path is read if it exists)
    TOWNSHIP_ALLOWED_HOSTS  comma-separated (default 127.0.0.1,localhost)
    TOWNSHIP_TIME_ZONE      the county's zone, whose calendar days are reported (default Asia/Shanghai)
    TOWNSHIP_BROKER         mqtt(s)://HOST:PORT to push policies to; TOWNSHIP_BROKER_CA/_CERT/_KEY for TLS
    TOWNSHIP_SIGNING_KEY    the township's Ed25519 key (PEM) that signs policies
    TOWNSHIP_SEAL_KEY       the township's X25519 key (PEM) that unseals subject ids (privacy role only)
    TOWNSHIP_REPORT_DIR     where the scheduled daily report files go
    TOWNSHIP_DEBUG          1 for development
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from psycopg.conninfo import conninfo_to_dict

BASE_DIR = Path(__file__).resolve().parent
DEBUG = os.environ.get("TOWNSHIP_DEBUG") == "1"


def _secret() -> str:
    value = os.environ.get("TOWNSHIP_SECRET_KEY", "")
    if value and Path(value).is_file():
        return Path(value).read_text().strip()
    return value or secrets.token_urlsafe(48)  # sessions then last as long as the process


def database(url: str) -> dict[str, object]:
    """Django's DATABASES entry from a libpq URL or key=value string."""
    info = conninfo_to_dict(url)
    return {"ENGINE": "django.db.backends.postgresql", "NAME": info.pop("dbname", "township"),
            "USER": info.pop("user", ""), "PASSWORD": info.pop("password", ""), "HOST": info.pop("host", ""),
            "PORT": info.pop("port", ""), "OPTIONS": info, "CONN_MAX_AGE": 0}


SECRET_KEY = _secret()
ALLOWED_HOSTS = os.environ.get("TOWNSHIP_ALLOWED_HOSTS", "127.0.0.1,localhost").split(",")
DATABASE_URL = os.environ.get("TOWNSHIP_DATABASE_URL", "postgresql:///township")
DATABASES = {"default": database(DATABASE_URL)}

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "township.console.apps.ConsoleConfig",
]
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "township.console.language.ChineseFirstMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
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
CSRF_COOKIE_HTTPONLY = False  # htmx reads it to send the token header

TOWNSHIP_BROKER = os.environ.get("TOWNSHIP_BROKER", "")
TOWNSHIP_BROKER_TLS = tuple(os.environ.get(f"TOWNSHIP_BROKER_{n}", "") for n in ("CA", "CERT", "KEY"))
TOWNSHIP_SIGNING_KEY = os.environ.get("TOWNSHIP_SIGNING_KEY", "")
TOWNSHIP_SEAL_KEY = os.environ.get("TOWNSHIP_SEAL_KEY", "")
TOWNSHIP_REPORT_DIR = os.environ.get("TOWNSHIP_REPORT_DIR", "")
HEALTH_STALE_S = int(os.environ.get("TOWNSHIP_HEALTH_STALE_S", "900"))
LOGGING = {"version": 1, "disable_existing_loggers": False,
           "handlers": {"console": {"class": "logging.StreamHandler"}},
           "root": {"handlers": ["console"], "level": "WARNING"}}
