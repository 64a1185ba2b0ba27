"""The `township` command: `township listen|report|push-config|keygen` (`python -m township`).

Its own program, installed with `pip install '.[township]'` on the township's server; a kiosk's
install leaves it out.  `kiosk township …` on a machine that has both hands over to it (same
options, output and exit codes).  Each command imports what it needs when it runs; a dependency
that is not installed is a clear message and exit status 2, never a traceback.
"""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sqlite3
import sys
from pathlib import Path
from typing import Any

EXTRA = "township"  # pyproject.toml's optional dependencies of the township: pip install '.[township]'


def _tls(args: argparse.Namespace):  # type: ignore[no-untyped-def]
    from township.broker import tls_context

    if not (args.ca or args.tls_cert):
        return None
    return tls_context(args.ca or "", args.tls_cert or "", args.tls_key or "")


def _database_url(args: argparse.Namespace) -> str | None:
    import os

    return getattr(args, "database_url", None) or (None if args.db else os.environ.get("TOWNSHIP_DATABASE_URL"))


def _open_store(args: argparse.Namespace) -> Any:
    """SQLite (`--db FILE`) or PostgreSQL (`--database-url`, or TOWNSHIP_DATABASE_URL)."""
    url = _database_url(args)
    if url:
        from township.ingest import PgEventStore

        on_alerts = None
        if getattr(args, "webhook", None):
            from township.ingest.webhook import Webhook

            on_alerts = Webhook(args.webhook, cooldown_s=args.webhook_cooldown)
        return PgEventStore(url, on_alerts=on_alerts)
    if not args.db:
        raise ValueError("give --db FILE (SQLite) or --database-url postgresql://... (or TOWNSHIP_DATABASE_URL)")
    from township.store import EventStore

    wrong = _not_an_event_db(Path(args.db), blank_ok=True)
    if wrong:  # the listener adds its tables to what it opens: never to someone else's file
        raise ValueError(f"--db {args.db}: {wrong}; give a new file name, or the township's event database")
    return EventStore(args.db)


def _wait_for_store(args: argparse.Namespace, should_stop: Any) -> Any:
    """The store, waiting for a database nobody answers for yet (0.5 s doubling to 5 s, a log line per try,
    like the broker); None if stopped meanwhile.  A refusal or a wrong URL is raised: a person must look."""
    import time

    from township.ingest.pgstore import DatabaseUnreachable

    log = logging.getLogger("township.listener")
    delay = 0.5
    while True:
        try:
            return _open_store(args)
        except DatabaseUnreachable as exc:
            log.warning("township listen: waiting for the database (%s); retrying in %.1f s", exc, delay)
            end = time.monotonic() + delay
            while time.monotonic() < end:
                if should_stop():
                    return None
                time.sleep(0.1)
            delay = min(delay * 2, 5.0)


def cmd_listen(args: argparse.Namespace) -> int:
    """Exit codes: 0 stopped (SIGTERM/SIGINT/--duration), 1 the broker refused us, 2 bad arguments/store (a
    wrong database URL, a database not migrated, the sealing key with PostgreSQL), 3 the store failed while
    running (nothing it did not commit was acknowledged).  A database or broker nobody answers is waited for."""
    import logging

    from kiosk.feed.sealing import SubjectOpener
    from township.broker import BrokerAddress, BrokerError
    from township.listener import Listener

    if not logging.getLogger().handlers:
        logging.basicConfig(format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    logging.getLogger("township").setLevel(logging.INFO)  # waiting, connected: what an operator needs to see
    stopping = False

    def stop(*_: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    import time

    ends = time.monotonic() + args.duration if args.duration > 0 else None

    def over() -> bool:  # stopped, or --duration spent (waiting for the broker or the database included)
        return stopping or (ends is not None and time.monotonic() >= ends)

    if args.seal_key and _database_url(args):
        print("township listen: --seal-key is for the SQLite store only: with PostgreSQL the subject ids stay "
              "sealed in the database and are opened one at a time in the console (privacy role, audited); "
              "give the key to the console (TOWNSHIP_KEYS_DIR), not to the listener", file=sys.stderr)
        return 2
    try:
        address, tls = BrokerAddress.parse(args.broker), _tls(args)  # a wrong --ca is said before any waiting
        try:
            opener = SubjectOpener.from_pem(Path(args.seal_key).read_bytes()) if args.seal_key else None
        except OSError as exc:
            raise ValueError(f"--seal-key {args.seal_key}: {exc.strerror or exc}") from None
        store = _wait_for_store(args, over)
    except Exception as exc:  # a missing key file, a refused, wrong or unmigrated database: say so, no traceback
        print(f"township listen: {' '.join(str(exc).split())}", file=sys.stderr)
        return 2
    if store is None:
        print("township listen: stopped while waiting for the database; nothing was received", file=sys.stderr)
        return 0
    with store:
        listener = Listener(store, address, township=args.township,
                            client_id=args.client_id, opener=opener, share=args.share, tls=tls)
        try:
            if not listener.start(wait=True, should_stop=over):
                print("township listen: stopped while waiting for the broker; nothing was received", file=sys.stderr)
                return 0
        except BrokerError as exc:
            print(f"township listen: {exc}", file=sys.stderr)
            return 1
        try:
            listener.run(duration_s=max(0.001, ends - time.monotonic()) if ends is not None else 0.0,
                         should_stop=lambda: stopping)
            listener.poll()  # what is queued now is committed and acked before we go
        except listener.transient as exc:  # the database, not a message: nothing unstored was acked
            print(f"township listen: the store failed ({type(exc).__name__}: {exc}); stopping so that a "
                  "restart (systemd) resumes from the broker's queue", file=sys.stderr)
            return 3
        finally:
            listener.close()  # anything that arrives after this is not acked: the broker keeps it for us
        print(f"township listen: {listener.stored} new events, {listener.duplicates} duplicates dropped, "
              f"{listener.alerts} alerts, {listener.rejected} rejected", file=sys.stderr)
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from township.report import daily_report
    from township.store import EventStore

    if not Path(args.db).exists():
        print(f"township report: {args.db}: no such database", file=sys.stderr)
        return 2
    wrong = _not_an_event_db(Path(args.db))
    if wrong:  # a report only reads: never turn another file into an event store
        print(f"township report: {args.db}: {wrong}", file=sys.stderr)
        return 2
    try:
        with EventStore.read_only(args.db) as store:  # a report only reads: the file stays byte for byte
            report = daily_report(store, args.day, township=args.township)
    except ValueError as exc:
        print(f"township report: {exc}", file=sys.stderr)
        return 2
    except sqlite3.Error as exc:
        print(f"township report: {args.db}: damaged or locked database ({exc})", file=sys.stderr)
        return 2
    sys.stdout.write(json.dumps(report, ensure_ascii=False, indent=2) + "\n")
    return 0


def _not_an_event_db(path: Path, *, blank_ok: bool = False) -> str:
    """Why `path` is not a township event store (read-only look), or "" if it is one.  `blank_ok`: a missing
    or empty file, or an SQLite file with no tables, is one to be (the listener creates its tables)."""
    from township.store import READ_COLUMNS

    if blank_ok and (not path.exists() or (path.is_file() and path.stat().st_size == 0)):
        return ""
    if path.exists() and not path.is_file():
        return "a directory" if path.is_dir() else "not a regular file"
    try:
        with open(path, "rb") as f:
            head = f.read(16)
    except OSError as exc:
        return f"cannot read ({exc.strerror})"
    if head != b"SQLite format 3\x00":
        return "an empty file, not an event database" if not head else "not an SQLite database"
    try:
        con = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
        try:
            tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            columns = {r[1] for r in con.execute("PRAGMA table_info(events)")}
        finally:
            con.close()
    except sqlite3.Error as exc:
        return f"a damaged SQLite file ({exc})"
    if blank_ok and not tables:
        return ""
    if "outbox" in tables:
        return "a kiosk's outbox, not the township's event database"
    shown = ", ".join(sorted(tables)[:5])
    if "events" not in tables:
        return f"an SQLite database, but not the township's event database (no events table; tables: {shown})"
    missing = [c for c in READ_COLUMNS["events"] if c not in columns]
    if blank_ok and missing:  # (a report says so itself, on opening it read-only)
        return f"an SQLite database, but not the township's event database (missing events.{missing[0]})"
    return ""


def _read_push_file(path: str) -> Any:
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise ValueError(f"--file {path}: not UTF-8 text: save it as UTF-8 JSON") from None
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"--file {path}: must be JSON ({exc.msg} at line {exc.lineno} column {exc.colno}); "
                         '{"policy": {...}, "trust_list": {...}?} — not TOML or kiosk.toml') from None
    if not isinstance(document, dict):
        raise ValueError(f"--file {path}: must hold a JSON object with at least `policy`")
    return document


def cmd_push_config(args: argparse.Namespace) -> int:
    from kiosk.feed import ConfigRefused, judge_content
    from township.broker import BrokerAddress, BrokerError
    from township.keys import load_signing_key
    from township.push import config_payload, push_config

    try:
        if not Path(args.file).is_file():
            raise ValueError(f"--file {args.file}: " + ("not a regular file" if Path(args.file).exists()
                                                        else "no such file"))
        document = _read_push_file(args.file)
        topic, payload = config_payload(document, township=args.township, kiosk=args.kiosk, version=args.version)
        key = load_signing_key(args.key)
        address, tls = BrokerAddress.parse(args.broker), _tls(args)
    except (OSError, ValueError) as exc:
        print(f"township push-config: {exc}", file=sys.stderr)
        return 2
    try:  # what every kiosk would refuse is not published: the same judgement, here, before signing
        judge_content(payload["policy"], payload.get("trust_list"), payload["version"])
    except ConfigRefused as exc:
        print(f"township push-config: {args.file}: a kiosk would refuse this configuration, nothing was "
              f"published: {exc.detail}", file=sys.stderr)
        return 1
    try:
        push_config(address, key, topic, payload, tls=tls)
    except BrokerError as exc:
        print(f"township push-config: {exc}", file=sys.stderr)
        return 1
    print(json.dumps({"topic": topic, "version": payload["version"], "township": payload["township"],
                      "kiosk": payload["kiosk"]}))
    return 0


def cmd_keygen(args: argparse.Namespace) -> int:
    from township.keys import generate

    try:
        public = generate(args.dir)
    except FileExistsError as exc:
        print(f"township keygen: {exc.filename} exists; not overwriting a township key", file=sys.stderr)
        return 1
    print("# for every kiosk's kiosk.toml, section [uplink]:")
    for name, value in public.items():
        print(f'{name} = "{value}"')
    return 0


def _broker_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--broker", required=True, help="mqtt://HOST[:PORT] or mqtts://HOST[:PORT]")
    parser.add_argument("--ca", help="CA certificate of the broker (TLS)")
    parser.add_argument("--tls-cert", help="client certificate (TLS)")
    parser.add_argument("--tls-key", help="client certificate's key (TLS)")


def build_parser(prog: str = "township") -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=prog, description="The reference township consumer and tools")
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    actions = parser.add_subparsers(dest="action", required=True)

    listen = actions.add_parser("listen", help="store a township's feed (SQLite or PostgreSQL, dedup), print alerts")
    _broker_options(listen)
    where = listen.add_mutually_exclusive_group()
    where.add_argument("--db", help="SQLite file (created if missing)")
    where.add_argument("--database-url", help="PostgreSQL: postgresql://... (default: $TOWNSHIP_DATABASE_URL); "
                       "the console's schema (`township migrate`)")
    listen.add_argument("--township", default="+", help="township id (default: every township we may read)")
    listen.add_argument("--client-id", help="fixed client id of the persistent session")
    listen.add_argument("--seal-key", help="with --db only: the township's X25519 private key (PEM), to store "
                        "subject ids unsealed in the SQLite file (refused with PostgreSQL: the console unseals)")
    listen.add_argument("--share", help="join shared-subscription group GROUP ($share/GROUP/...)")
    listen.add_argument("--duration", type=float, default=0.0, help="stop after this many seconds (0: run)")
    listen.add_argument("--webhook", help="with --database-url: POST new alerts to this group-robot URL")
    listen.add_argument("--webhook-cooldown", type=float, default=300.0, help="seconds between posts per site")
    listen.set_defaults(func=cmd_listen)

    report = actions.add_parser("report", help="the daily report per site as JSON (zero reports included)")
    report.add_argument("--db", required=True)
    report.add_argument("--day", required=True, help="YYYY-MM-DD")
    report.add_argument("--township", help="only this township")
    report.set_defaults(func=cmd_report)

    push = actions.add_parser("push-config", help="sign a configuration and publish it retained")
    _broker_options(push)
    push.add_argument("--key", required=True, help="the township's Ed25519 signing key (PEM)")
    push.add_argument("--file", required=True, help='JSON: {"policy": {...}, "trust_list": {...}?}')
    push.add_argument("--kiosk", help="TOWNSHIP/SITE/KIOSK: for this kiosk only (default: the whole township)")
    push.add_argument("--township", help="township id (default: from --kiosk or the file)")
    push.add_argument("--version", type=int, help="configuration version (default: the file's, else now)")
    push.set_defaults(func=cmd_push_config)

    keygen = actions.add_parser("keygen", help="make the township's signing and sealing keys")
    keygen.add_argument("dir", help="directory for config-signing.pem and seal.pem")
    keygen.set_defaults(func=cmd_keygen)

    from township.console.commands import register as register_console
    from township.demo import register as register_demo

    register_console(actions)
    register_demo(actions)
    return parser


def main(argv: list[str] | None = None, *, prog: str = "township") -> int:
    """Run `township ARGV` and return its exit code."""
    args = build_parser(prog).parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.WARNING,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        return int(args.func(args))
    except ModuleNotFoundError as exc:  # a township dependency the kiosk's own install does not have
        missing = (exc.name or str(exc)).split(".")[0]  # the package to install, not its submodule
        print(f"{prog}: {missing} is not installed; install the township with its dependencies: "
              f"pip install '.[{EXTRA}]' (from a full checkout)", file=sys.stderr)
        return 2
