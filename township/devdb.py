"""A throwaway PostgreSQL cluster for tests, the demo and the benchmark (never for production).

Debian's PostgreSQL 15 binaries, a data directory and a Unix socket in a temporary folder, no TCP
(`listen_addresses=''`), trust authentication for the local socket only.  As root the cluster
runs as the `postgres` user (initdb refuses root), through `runuser`.  `fsync` may be turned off
for tests: what they prove is the listener's ordering (commit, then ack), not the disk's.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import psycopg

PG_BIN = Path(os.environ.get("TOWNSHIP_PG_BIN", "/usr/lib/postgresql/15/bin"))


class Cluster:
    def __init__(self, root: str | os.PathLike[str] | None = None, *, fsync: bool = True,
                 settings: dict[str, str] | None = None) -> None:
        self.root = Path(root) if root else Path(tempfile.mkdtemp(prefix="township-pg-"))
        self.data = self.root / "data"
        self.socket_dir = self.root / "sock"
        self.fsync = fsync
        self.settings = settings or {}
        self.as_root = os.geteuid() == 0
        self.user = "postgres" if self.as_root else pwd.getpwuid(os.geteuid()).pw_name

    def _run(self, *args: str) -> None:
        cmd = (["runuser", "-u", "postgres", "--"] if self.as_root else []) + list(args)
        done = subprocess.run(cmd, check=False, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd="/")
        if done.returncode:
            raise RuntimeError(f"{Path(args[0]).name} failed: {done.stderr.decode(errors='replace').strip()}")

    def start(self) -> Cluster:
        self.root.mkdir(parents=True, exist_ok=True)
        self.socket_dir.mkdir(exist_ok=True)
        if self.as_root:
            pw = pwd.getpwnam("postgres")
            for p in (self.root, self.socket_dir):
                os.chown(p, pw.pw_uid, pw.pw_gid)
        if not (self.data / "PG_VERSION").exists():
            self._run(str(PG_BIN / "initdb"), "-D", str(self.data), "-U", "postgres", "--auth=trust",
                      "-E", "UTF8", "--locale=C.UTF-8", "--no-sync")
        opts = [f"-k {self.socket_dir}", "-c listen_addresses=''", "-c max_connections=100",
                f"-c fsync={'on' if self.fsync else 'off'}", "-c shared_buffers=128MB"]
        opts += [f"-c {k}={v}" for k, v in self.settings.items()]
        self._run(str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-l", str(self.root / "postgres.log"), "-w",
                  "-t", "60", "-o", " ".join(opts), "start")
        deadline = time.monotonic() + 30
        while True:
            try:
                psycopg.connect(self.dsn("postgres"), connect_timeout=2).close()
                return self
            except psycopg.OperationalError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)

    def dsn(self, dbname: str) -> str:
        return f"postgresql://postgres@/{dbname}?host={self.socket_dir}"

    def create_database(self, name: str, *, template: str | None = None) -> str:
        with psycopg.connect(self.dsn("postgres"), autocommit=True) as con:
            con.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            con.execute(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else ""))
        return self.dsn(name)

    def stop(self, *, remove: bool = True) -> None:
        if (self.data / "postmaster.pid").exists():
            with contextlib.suppress(RuntimeError):
                self._run(str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop")
        if remove:
            shutil.rmtree(self.root, ignore_errors=True)


def migrate(dsn: str) -> None:
    """Apply the console's migrations to the database at `dsn` (in a subprocess: Django's settings
    are process-wide, and the caller may be a test process that already configured another)."""
    import sys

    env = {**os.environ, "TOWNSHIP_DATABASE_URL": dsn, "DJANGO_SETTINGS_MODULE": "township.console.settings"}
    subprocess.run([sys.executable, "-m", "django", "migrate", "--no-input", "-v", "0"], check=True, env=env)
