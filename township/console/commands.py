"""The console's commands, added to `township` / `kiosk township` beside listen, report, push-config:

    console      serve the console (uvicorn, ASGI) on HOST:PORT
    migrate      create or update the database (Django migrations: the console's and the feed's tables)
    adduser      a user with a role (viewer/operator/admin/privacy) and a scope (township or county)
    report-file  write a day's report as .xlsx into a folder (run daily by township-report.timer)
    retention    make the coming days' partitions; drop those older than N days, prune alerts and summaries
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
from typing import Any


class Refused(Exception):
    """A database URL we cannot use or a database nobody answers: a clear line and exit 2, never a traceback."""


def database_url_problem(url: str) -> str:
    """Why `url` is no PostgreSQL connection string (libpq URL or key=value), or "" if it may be one."""
    from psycopg.conninfo import conninfo_to_dict

    scheme = url.split("://", 1)[0].lower() if "://" in url else ""
    if "://" in url and scheme not in ("postgresql", "postgres"):
        return (f"{url!r} is not a PostgreSQL URL (a {scheme}:// database is not supported): "
                "give postgresql://USER@HOST/DB or postgresql://USER@/DB?host=/run/postgresql")
    try:
        conninfo_to_dict(url)
    except Exception:  # psycopg.ProgrammingError: libpq's own words are cryptic ("missing = after")
        return (f"{url!r} is not a PostgreSQL URL: give postgresql://USER@HOST/DB "
                "or postgresql://USER@/DB?host=/run/postgresql")
    return ""


def _django(args: argparse.Namespace) -> None:
    url = getattr(args, "database_url", None) or os.environ.get("TOWNSHIP_DATABASE_URL")
    if url:
        problem = database_url_problem(url)
        if problem:
            raise Refused(problem)
    if getattr(args, "database_url", None):
        os.environ["TOWNSHIP_DATABASE_URL"] = args.database_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "township.console.settings")
    import django

    django.setup()


def cmd_console(args: argparse.Namespace) -> int:
    """Exit 2 (a message, no traceback) on a configuration the console must not run with."""
    import uvicorn
    from django.core.exceptions import ImproperlyConfigured

    if args.database_url:
        os.environ["TOWNSHIP_DATABASE_URL"] = args.database_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "township.console.settings")
    try:
        from township.console import settings

        if not settings.SECRET_KEY:
            raise ImproperlyConfigured("TOWNSHIP_SECRET_KEY is not set: the console needs a key of its own "
                                       "(a value, or the path of a file holding it)")
    except ImproperlyConfigured as exc:
        print(f"township console: {exc}", file=sys.stderr)
        return 2
    print(f"township console: http://{args.host}:{args.port}/", file=sys.stderr)
    uvicorn.run("township.console.asgi:application", host=args.host, port=args.port, log_level="warning")
    return 0


def guarded(command: Any) -> Any:
    """`command` with a wrong URL or a database nobody answers (or not yet migrated) said in a line, exit 2."""
    import functools

    @functools.wraps(command)
    def run(args: argparse.Namespace) -> int:
        name = f"township {args.action}"
        try:
            return int(command(args))
        except Refused as exc:
            print(f"{name}: {exc}", file=sys.stderr)
            return 2
        except Exception as exc:
            from django.core.exceptions import ImproperlyConfigured
            from django.db import Error as DjangoDbError
            from psycopg import Error as PgError

            if not isinstance(exc, (DjangoDbError, PgError, ImproperlyConfigured)):
                raise
            where = ("" if getattr(args, "database_url", None) or os.environ.get("TOWNSHIP_DATABASE_URL") else
                     " (no --database-url and no TOWNSHIP_DATABASE_URL: tried the local postgresql:///township)")
            text = " ".join(str(exc).split())[:300]
            print(f"{name}: cannot use the database{where}: {text}", file=sys.stderr)
            return 2
    return run


def _day(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a day: write YYYY-MM-DD, e.g. 2026-01-31") from None


def _keep_days(text: str) -> int:
    from township.ingest.partitions import MIN_KEEP_DAYS

    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of days") from None
    if value < MIN_KEEP_DAYS:
        raise argparse.ArgumentTypeError(f"keep at least {MIN_KEEP_DAYS} days (today and yesterday, whose report "
                                         f"is still due), not {value}")
    if value > 100_000:
        raise argparse.ArgumentTypeError(f"keep at most 100000 days, not {value}")
    return value


@guarded
def cmd_migrate(args: argparse.Namespace) -> int:
    _django(args)
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=1)
    return 0


@guarded
def cmd_adduser(args: argparse.Namespace) -> int:
    _django(args)
    from django.contrib.auth.models import Group, User

    from township.console.models import County, Profile, Township

    user, _ = User.objects.get_or_create(username=args.name)
    user.set_password(args.password)
    user.is_staff = "admin" in args.role
    user.save()
    user.groups.set(Group.objects.filter(name__in=args.role))
    township = Township.objects.filter(code=args.township).first() if args.township else None
    county = County.objects.filter(code=args.county).first() if args.county else None
    if (args.township and township is None) or (args.county and county is None):
        print("township adduser: no such township/county (add it in the admin first)", file=sys.stderr)
        return 2
    Profile.objects.update_or_create(user=user, defaults={"township": township, "county": county})
    print(f"{args.name}: {', '.join(args.role)} of {args.township or args.county}")
    return 0


@guarded
def cmd_report_file(args: argparse.Namespace) -> int:
    _django(args)
    from pathlib import Path

    from township.console import reports
    from township.console.models import Site
    from township.console.views.common import now, today

    day = args.day if args.day else today() - dt.timedelta(days=1)
    sites = list(Site.objects.select_related("township").prefetch_related("kiosks"))
    data = reports.report(sites, day, day, now=now())
    out = Path(args.out or os.environ.get("TOWNSHIP_REPORT_DIR") or ".")
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"checkpoint-day-{day:%Y%m%d}.xlsx"
    tmp = path.with_suffix(".tmp")
    tmp.write_bytes(reports.xlsx(data, "入口筛查日报"))
    tmp.replace(path)
    print(path)
    return 0


@guarded
def cmd_retention(args: argparse.Namespace) -> int:
    _django(args)
    import psycopg
    from django.conf import settings

    from township.console.views.common import today
    from township.ingest.partitions import drop_older_than, ensure_ahead

    try:
        with psycopg.connect(settings.DATABASE_URL, autocommit=True) as con:
            ensure_ahead(con, today())  # the coming days' partitions, made here rather than by ingest
            for line in drop_older_than(con, args.keep_days, today(), keep_summary_days=args.keep_summary_days):
                print(f"dropped {line}")
    except ValueError as exc:
        print(f"township retention: {exc}", file=sys.stderr)
        return 2
    except psycopg.Error as exc:
        print(f"township retention: cannot use the database: {' '.join(str(exc).split())[:300]}", file=sys.stderr)
        return 2
    return 0


def register(actions: Any) -> None:
    def db(p: argparse.ArgumentParser) -> None:
        p.add_argument("--database-url", help="postgresql://... (default: $TOWNSHIP_DATABASE_URL)")

    p = actions.add_parser("console", help="serve the township console (uvicorn)")
    db(p)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)
    p.set_defaults(func=cmd_console)

    p = actions.add_parser("migrate", help="create or update the console's database")
    db(p)
    p.set_defaults(func=cmd_migrate)

    p = actions.add_parser("adduser", help="add or update a console user")
    db(p)
    p.add_argument("name")
    p.add_argument("--password", required=True)
    p.add_argument("--role", action="append", choices=("viewer", "operator", "admin", "privacy"), required=True)
    scope = p.add_mutually_exclusive_group(required=True)
    scope.add_argument("--township", help="township id the user works for")
    scope.add_argument("--county", help="county code: every township of it")
    p.set_defaults(func=cmd_adduser)

    p = actions.add_parser("report-file", help="write a day's report (.xlsx) into a folder")
    db(p)
    p.add_argument("--day", type=_day, help="YYYY-MM-DD (default: yesterday)")
    p.add_argument("--out", help="folder (default: $TOWNSHIP_REPORT_DIR or .)")
    p.set_defaults(func=cmd_report_file)

    p = actions.add_parser("retention", help="drop feed partitions older than N days (and make the coming days')")
    db(p)
    p.add_argument("--keep-days", type=_keep_days, default=180, help="entries, health and alerts (at least 2)")
    p.add_argument("--keep-summary-days", type=_keep_days, default=400,
                   help="daily summaries and configuration acknowledgements (no personal data; default 400)")
    p.set_defaults(func=cmd_retention)
