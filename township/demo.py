"""`township demo`: the whole township on this machine, with simulated kiosks, in one command.

A throwaway PostgreSQL and mosquitto, the listener, the console; sites registered with their
responsible persons and deadlines; yesterday's visitors played through the real kiosk
(`kiosk simulate --broker`) at every site but the last, which never reports (未上报).  Site 1's
yesterday comes last, once the console is up: its summary arrives after its deadline (迟报) and its
fever pops up on the console.  Every simulated day is a finished one (yesterday): no summary of a
day not yet over.  One kiosk agent per reporting site stays online (health, policy acks), each
started after that kiosk's simulated run, so no two processes share a kiosk's MQTT client id.
Users: demo/demo (admin, operator, privacy) and viewer/viewer (viewer).  Ctrl-C stops it all, and
the township's private keys go with it (the logs stay).

`python -m township.demo seed --database-url DSN --spec JSON` registers sites and users (the
browser tests use it too).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = ROOT / "tests" / "scenarios"
TRUST = ROOT / "tests" / "corpus" / "trust-list.json"
ZONE = "Asia/Shanghai"
TOWNSHIP = "demo-township"
NAMES = ["张*明", "李*华", "王*芳", "赵*强", "陈*静", "刘*伟"]


def default_spec(n_sites: int, deadline: str = "23:59:59", early: str = "00:30:00") -> dict[str, Any]:
    """`n_sites` sites.  Site 1 (reporting late in the demo) and the last (never reporting) are due at
    00:30, so they show 迟报 and 未上报; the others are due at the end of the day and report on time."""
    return {"county": {"code": "demo-county", "name": "示范县"},
            "township": {"code": TOWNSHIP, "name": "示范镇"},
            "sites": [{"code": f"site-{i}", "name": f"示范场所{i}号", "responsible": NAMES[i % len(NAMES)],
                       "phone": f"1380000{i:04d}", "deadline": early if i in (1, n_sites) else deadline,
                       "kiosks": ["kiosk-1"]}
                      for i in range(1, n_sites + 1)],
            "users": [{"name": "demo", "password": "demo", "roles": ["admin", "operator", "privacy"]},
                      {"name": "viewer", "password": "viewer", "roles": ["viewer"]}]}


def seed(spec: dict[str, Any]) -> None:
    """Register the spec's county, township, sites, kiosks and users (idempotent).  Django must be set up."""
    from django.contrib.auth.models import Group, User

    from township.console.models import County, Kiosk, Profile, Site, Township

    county, _ = County.objects.update_or_create(code=spec["county"]["code"], defaults={"name": spec["county"]["name"]})
    township, _ = Township.objects.update_or_create(code=spec["township"]["code"],
                                                    defaults={"name": spec["township"]["name"], "county": county})
    for s in spec["sites"]:
        site, _ = Site.objects.update_or_create(township=township, code=s["code"], defaults={
            "name": s["name"], "responsible": s["responsible"], "phone": s["phone"],
            "deadline": dt.time.fromisoformat(s["deadline"])})
        for k in s["kiosks"]:
            Kiosk.objects.get_or_create(site=site, code=k)
    for u in spec["users"]:
        user, _ = User.objects.get_or_create(username=u["name"])
        user.set_password(u["password"])
        user.is_staff = "admin" in u["roles"]
        user.save()
        user.groups.set(Group.objects.filter(name__in=u["roles"]))
        Profile.objects.update_or_create(user=user, defaults={"township": township, "county": None})


def kiosk_toml(work: Path, township: str, site: str, kiosk: str, broker_port: int, keys: dict[str, str]) -> Path:
    path = work / f"{site}-{kiosk}.toml"
    path.write_text(f'[site]\ntownship = "{township}"\nsite_id = "{site}"\nkiosk_id = "{kiosk}"\n'
                    f'[health_pass]\ntrust_list = "{TRUST}"\n'
                    f'[uplink]\nenabled = true\nhost = "127.0.0.1"\nport = {broker_port}\nhealth_interval_s = 30\n'
                    f'timezone = "{ZONE}"\n'
                    f'config_public_key = "{keys["config_public_key"]}"\n'
                    f'seal_public_key = "{keys["seal_public_key"]}"\n'
                    f'[storage]\ndata_dir = "{work / (site + "-" + kiosk)}"\n')
    return path


def scenario_at(work: Path, source: str, start: float, name: str) -> Path:
    data = json.loads((SCENARIOS / source).read_text())
    data["start"] = start
    path = work / f"{name}.json"
    path.write_text(json.dumps(data))
    return path


def simulate(config: Path, scenario: Path, broker_port: int, out: Path) -> subprocess.CompletedProcess[bytes]:
    """The real kiosk playing a scenario and publishing its whole feed (entries, alerts, daily summary)."""
    return subprocess.run([sys.executable, "-m", "kiosk.cli", "simulate", str(scenario), "--headless",
                           "--config", str(config), "--out", str(out), "--broker", f"mqtt://127.0.0.1:{broker_port}"],
                          capture_output=True, timeout=300, check=False)


def run(*, port: int = 8000, sites: int = 4) -> int:
    import secrets
    import shutil
    import signal

    from township import stack
    from township.devdb import Cluster, migrate
    from township.keys import generate

    def interrupt(*_: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, interrupt)  # stopped by a service manager: clean up like Ctrl-C
    work = Path(tempfile.mkdtemp(prefix="township-demo-"))
    keys_dir = work / "keys"
    procs: list[stack.Proc] = []
    cluster = Cluster()  # its own folder, owned by the postgres user
    try:
        print(f"demo: working in {work}", flush=True)
        cluster.start()
        dsn = cluster.create_database("township")
        migrate(dsn)
        keys = generate(keys_dir / TOWNSHIP)  # the township's own pair, where the console looks for it
        broker = stack.mosquitto(work)
        procs.append(broker)
        subprocess.run([sys.executable, "-m", "township.demo", "seed", "--database-url", dsn, "--spec",
                        json.dumps(default_spec(sites))], check=True)
        procs.append(stack.listener(work, broker.port, dsn, township=TOWNSHIP))
        env = {"TOWNSHIP_DATABASE_URL": dsn, "TOWNSHIP_BROKER": f"mqtt://127.0.0.1:{broker.port}",
               "TOWNSHIP_KEYS_DIR": str(keys_dir), "TOWNSHIP_TIME_ZONE": ZONE,
               "TOWNSHIP_SECRET_KEY": secrets.token_urlsafe(48)}
        console = stack.console(work, env, port=port)
        procs.append(console)
        tz = ZoneInfo(ZONE)
        yesterday = dt.datetime.now(tz).date() - dt.timedelta(days=1)
        morning = dt.datetime.combine(yesterday, dt.time(9, 30), tz).timestamp()
        configs = {i: kiosk_toml(work, TOWNSHIP, f"site-{i}", "kiosk-1", broker.port, keys)
                   for i in range(1, sites + 1)}

        def agent(i: int) -> None:
            procs.append(stack._spawn(f"agent-{i}", [sys.executable, "-m", "township.kioskagent", "--config",
                                                     str(configs[i])], work))

        print(f"demo: playing yesterday at sites 2..{sites - 1} (site-{sites} never reports)", flush=True)
        for i in range(2, sites):
            source = "rush-40.json" if i % 2 == 0 else "two-people.json"
            simulate(configs[i], scenario_at(work, source, morning + i * 600, f"y{i}"), broker.port,
                     work / f"y{i}.jsonl")
            agent(i)  # online from now on, after its own run: one client id, one process
        print(f"\n  township console: http://127.0.0.1:{console.port}/   login demo / demo  (viewer / viewer)\n"
              "  Ctrl-C to stop\n", flush=True)
        time.sleep(5)
        print("demo: site-1's yesterday arrives now, late, with a fever: it pops up on the console", flush=True)
        simulate(configs[1], scenario_at(work, "every-reason.json", morning + 600, "y1"), broker.port,
                 work / "y1.jsonl")
        agent(1)
        while all(p.popen.poll() is None for p in procs):
            time.sleep(1)
        print("demo: a process stopped; see the logs in", work, file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 0
    except (RuntimeError, OSError, subprocess.CalledProcessError) as exc:
        print(f"demo: could not start: {exc}", file=sys.stderr)
        return 1
    finally:
        for p in reversed(procs):
            p.stop()
        cluster.stop()
        shutil.rmtree(keys_dir, ignore_errors=True)  # the township's private keys never outlive the demo
        print(f"demo: stopped (logs kept in {work}; the keys removed)", file=sys.stderr)


def register(actions: Any) -> None:
    """`township demo` (added to the township commands by township/cli.py)."""
    p = actions.add_parser("demo", help="PostgreSQL, mosquitto, simulated kiosks and the console, on this machine")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--sites", type=int, default=4)
    p.set_defaults(func=lambda args: run(port=args.port, sites=args.sites))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="township.demo")
    sub = parser.add_subparsers(dest="action", required=True)
    s = sub.add_parser("seed")
    s.add_argument("--database-url", required=True)
    s.add_argument("--spec", required=True, help="JSON (see default_spec)")
    args = parser.parse_args(argv)
    os.environ["TOWNSHIP_DATABASE_URL"] = args.database_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "township.console.settings")
    import django

    django.setup()
    seed(json.loads(args.spec))
    return 0


if __name__ == "__main__":
    sys.exit(main())
