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
import sys
from pathlib import Path
from typing import Any

EXTRA = "township"  # pyproject.toml's optional dependencies of the township: pip install '.[township]'


def _tls(args: argparse.Namespace):  # type: ignore[no-untyped-def]
    from township.broker import tls_context

    if not (args.ca or args.tls_cert):
        return None
    return tls_context(args.ca or "", args.tls_cert or "", args.tls_key or "")


def cmd_listen(args: argparse.Namespace) -> int:
    from kiosk.feed.sealing import SubjectOpener
    from township.broker import BrokerAddress, BrokerError
    from township.listener import Listener
    from township.store import EventStore

    opener = SubjectOpener.from_pem(Path(args.seal_key).read_bytes()) if args.seal_key else None
    stopping = False

    def stop(*_: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    with EventStore(args.db) as store:
        listener = Listener(store, BrokerAddress.parse(args.broker), township=args.township,
                            client_id=args.client_id, opener=opener, share=args.share, tls=_tls(args))
        try:
            listener.start()
        except BrokerError as exc:
            print(f"township listen: {exc}", file=sys.stderr)
            return 1
        try:
            listener.run(duration_s=args.duration, should_stop=lambda: stopping)
        finally:
            listener.close()
            listener.poll()  # what arrived before the disconnect is stored (its ack is simply not sent)
        print(f"township listen: {listener.stored} new events, {listener.duplicates} duplicates dropped, "
              f"{listener.alerts} alerts, {listener.rejected} rejected", file=sys.stderr)
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from township.report import daily_report
    from township.store import EventStore

    if not Path(args.db).exists():
        print(f"township report: {args.db}: no such database", file=sys.stderr)
        return 2
    try:
        with EventStore(args.db) as store:
            report = daily_report(store, args.day, township=args.township)
    except ValueError as exc:
        print(f"township report: {exc}", file=sys.stderr)
        return 2
    sys.stdout.write(json.dumps(report, ensure_ascii=False, indent=2) + "\n")
    return 0


def cmd_push_config(args: argparse.Namespace) -> int:
    from township.broker import BrokerAddress, BrokerError
    from township.keys import load_signing_key
    from township.push import config_payload, push_config

    try:
        document: Any = json.loads(Path(args.file).read_text(encoding="utf-8"))
        if not isinstance(document, dict):
            raise ValueError("the file must hold a JSON object with at least `policy`")
        topic, payload = config_payload(document, township=args.township, kiosk=args.kiosk, version=args.version)
        key = load_signing_key(args.key)
    except (OSError, ValueError) as exc:
        print(f"township push-config: {exc}", file=sys.stderr)
        return 2
    try:
        push_config(BrokerAddress.parse(args.broker), key, topic, payload, tls=_tls(args))
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

    listen = actions.add_parser("listen", help="store a township's feed in SQLite (dedup), print alerts")
    _broker_options(listen)
    listen.add_argument("--db", required=True, help="SQLite file (created if missing)")
    listen.add_argument("--township", default="+", help="township id (default: every township we may read)")
    listen.add_argument("--client-id", help="fixed client id of the persistent session")
    listen.add_argument("--seal-key", help="the township's X25519 private key (PEM): store subject ids unsealed")
    listen.add_argument("--share", help="join shared-subscription group GROUP ($share/GROUP/...)")
    listen.add_argument("--duration", type=float, default=0.0, help="stop after this many seconds (0: run)")
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
