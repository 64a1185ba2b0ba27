"""Starting the township's parts as processes: mosquitto, the listener, the console (uvicorn).

Used by `township demo` and by the browser tests, so the demo is exactly what is tested.  Every
process is started on 127.0.0.1 with a free port, logs to a file in the work folder, and is
stopped by its own PID (`Proc.stop`).
"""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

HOST = "127.0.0.1"
MOSQUITTO = shutil.which("mosquitto") or "/usr/sbin/mosquitto"


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def wait_port(port: int, timeout_s: float, proc: subprocess.Popen[bytes] | None = None,
              log: Path | None = None) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            tail = log.read_text(errors="replace")[-2000:] if log else ""
            raise RuntimeError(f"exited with {proc.returncode}: {tail}")
        try:
            socket.create_connection((HOST, port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on {port} after {timeout_s} s")


@dataclass
class Proc:
    name: str
    popen: subprocess.Popen[bytes]
    log: Path
    port: int = 0

    def stop(self, *, kill: bool = False) -> None:
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGKILL if kill else signal.SIGTERM)
            try:
                self.popen.wait(10)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(5)


def _spawn(name: str, args: list[str], workdir: Path, env: dict[str, str] | None = None) -> Proc:
    log = workdir / f"{name}.log"
    with open(log, "ab") as out:
        popen = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                 env={**os.environ, **(env or {})}, cwd=workdir)
    return Proc(name, popen, log)


def mosquitto(workdir: Path, port: int | None = None, *, save_every_change: bool = True) -> Proc:
    """A local broker that keeps sessions (the listener's queue) and, like config/mosquitto, saves on
    every change.  mosquitto rewrites its whole database on each save, so a benchmark queueing a
    100,000-message backlog turns that off (`save_every_change=False`: saved on exit only)."""
    port = port or free_port()
    conf = workdir / "mosquitto.conf"
    save = "autosave_on_changes true\nautosave_interval 1\n" if save_every_change else "autosave_interval 0\n"
    conf.write_text(f"listener {port} {HOST}\nallow_anonymous true\npersistence true\n"
                    f"persistence_location {workdir}/\n{save}"
                    "max_queued_messages 1000000\nmax_queued_bytes 0\n"
                    f"user {pwd.getpwuid(os.getuid()).pw_name}\nlog_type error\nlog_type warning\n")
    proc = _spawn("mosquitto", [MOSQUITTO, "-c", str(conf)], workdir)
    proc.port = port
    wait_port(port, 10, proc.popen, proc.log)
    return proc


def listener(workdir: Path, broker_port: int, dsn: str, *, township: str = "+", client_id: str = "township-demo",
             name: str = "listener") -> Proc:
    args = [sys.executable, "-m", "township", "listen", "--broker", f"mqtt://{HOST}:{broker_port}",
            "--database-url", dsn, "--township", township, "--client-id", client_id]
    proc = _spawn(name, args, workdir)
    deadline = time.monotonic() + 30
    while "connected to" not in proc.log.read_text(errors="replace"):
        if proc.popen.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"the listener did not start: {proc.log.read_text(errors='replace')[-2000:]}")
        time.sleep(0.05)
    return proc


def console(workdir: Path, env: dict[str, str], port: int | None = None) -> Proc:
    port = port or free_port()
    args = [sys.executable, "-m", "uvicorn", "township.console.asgi:application", "--host", HOST, "--port",
            str(port), "--log-level", "warning", "--no-access-log"]
    proc = _spawn("console", args, workdir, {"DJANGO_SETTINGS_MODULE": "township.console.settings", **env})
    proc.port = port
    wait_port(port, 60, proc.popen, proc.log)
    return proc
