"""The `kiosk` command: its parser, and running the command chosen.

Each command family registers itself from its own module (`register(sub)`), and each imports the
heavy parts it needs only when it runs, so `kiosk code verify` does not pay for pygame and
`kiosk config check` works on a machine with no camera library at all.

Exit codes (`EXIT_CODES`, shown by `kiosk --help` and in README.md): 0 success, 1 a negative
answer, 2 usage or unusable input, 3 an internal error, 130 interrupted, 141 output closed.
Every input a command expects to meet is answered by the command itself with a clear message;
`main` only adds the last-resort net: whatever escapes a command becomes one line on stderr
(Chinese, then English) and exit 3, never a Python traceback (`-v` logs it for a bug report).
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import sys

from kiosk.cli import calibrate, code, config, field, outbox, run, screens, simulate, thermal, township
from kiosk.cli.loading import CommandFailed

# In the order `kiosk --help` lists them (as it always has).
FAMILIES = (config, code, thermal, simulate, outbox, calibrate, run, township, field, screens)
INTERNAL_ERROR = 3
INTERRUPTED = 130  # 128 + SIGINT, as a shell reports a process Ctrl-C ended
OUTPUT_CLOSED = 141  # 128 + SIGPIPE: the reader went away (`kiosk outbox tail | head -1`)
OUTPUT_FAILED = 2  # the output cannot be written (a full disk, an I/O error): unusable, not a bug
EXIT_CODES = """\
exit codes:
  0    success (a valid configuration, a valid code, a passed check, work done)
  1    a negative answer: invalid configuration, a code not valid, a failed check or
       expectation, a refused calibration, nothing there (no outbox)
  2    usage error or unusable input: wrong options, a file that cannot be read or is not
       what it should be (not an outbox, not an image, not a scenario), the wrong machine
  3    internal error: a bug; the one line says what, `kiosk -v …` logs the details
  130  interrupted (Ctrl-C)
  141  the output was closed early (e.g. piped into `head`); an output that cannot be written
       (a full disk, an I/O error) is 2"""

log = logging.getLogger("kiosk.cli")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="kiosk", description="Entry-checkpoint kiosk", epilog=EXIT_CODES,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    sub = parser.add_subparsers(dest="command", required=True)
    for family in FAMILIES:
        family.register(sub)
    return parser


def _quiet_stdout() -> None:
    """After EPIPE: point stdout at /dev/null so the interpreter's final flush cannot fail again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


class OutputFailed(Exception):
    """Writing the command's output failed (ENOSPC, EIO …): said in a line, exit 2, not a bug."""

    def __init__(self, exc: OSError) -> None:
        super().__init__(exc.strerror or str(exc))


class _CheckedOutput:
    """sys.stdout whose write errors other than a closed pipe are `OutputFailed`, so that a full disk
    under `kiosk … > file` is told apart from a bug (the last-resort net) wherever the write happens."""

    def __init__(self, stream: object) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        try:
            return self._stream.write(text)  # type: ignore[attr-defined, no-any-return]
        except BrokenPipeError:
            raise
        except OSError as exc:
            raise OutputFailed(exc) from None

    def flush(self) -> None:
        try:
            self._stream.flush()  # type: ignore[attr-defined]
        except BrokenPipeError:
            raise
        except OSError as exc:
            raise OutputFailed(exc) from None

    def __getattr__(self, name: str) -> object:
        return getattr(self._stream, name)


def _output_failed(name: str, exc: OutputFailed) -> int:
    _quiet_stdout()  # the interpreter's last flush must not fail again
    print(f"kiosk {name}: 无法写出结果（{exc}）/ cannot write the output: {exc}", file=sys.stderr)
    return OUTPUT_FAILED


def _tolerant_streams() -> None:
    """stdout and stderr that never fail on a character, and that exist.

    The terminal's encoding is the locale's: ISO-8859-1 or GB2312 (raspi-config offers both) cannot
    encode the Chinese, or the em dash, of the messages: those become `\\uXXXX` instead of a
    UnicodeEncodeError.  A stream closed before the start (`kiosk … >&-`) is None in Python: writes
    to it go nowhere, as to /dev/null, instead of failing.
    """
    for name in ("stdout", "stderr"):
        stream = getattr(sys, name)
        if stream is None:
            setattr(sys, name, open(os.devnull, "w", encoding="utf-8"))  # noqa: SIM115 - lives as long as the process
            continue
        with contextlib.suppress(AttributeError, ValueError, OSError):  # not a TextIOWrapper, or closed
            stream.reconfigure(errors="backslashreplace")


def main(argv: list[str] | None = None) -> int:
    """Run `kiosk ARGV` and return its exit code.

    With `argv` None (the console script, `python -m kiosk.cli`) the command line is `sys.argv`, and
    `kiosk township …` replaces this process with the township program; with an explicit `argv` (a
    Python caller) it runs it as a child process and returns its exit status.
    """
    _tolerant_streams()
    if not isinstance(sys.stdout, _CheckedOutput):
        sys.stdout = _CheckedOutput(sys.stdout)  # type: ignore[assignment]
    try:
        args = build_parser().parse_args(argv)
    except OutputFailed as exc:  # a long --help, written straight into a full disk
        return _output_failed(" ".join((argv or sys.argv[1:])[:2]) or "--help", exc)
    except SystemExit as done:  # --help, or a usage error: the help text must have reached its reader
        try:
            sys.stdout.flush()
        except OutputFailed as exc:
            return _output_failed(" ".join((argv or sys.argv[1:])[:2]) or "--help", exc)
        except BrokenPipeError:
            _quiet_stdout()
            return OUTPUT_CLOSED
        raise done
    args.replace_process = argv is None
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.WARNING,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    name = " ".join(str(p) for p in (args.command, getattr(args, "action", None)) if p)
    try:
        code = int(args.func(args))
        sys.stdout.flush()  # here, where a closed pipe is caught, not at interpreter exit
        return code
    except CommandFailed as exc:
        return exc.code
    except KeyboardInterrupt:
        print(f"kiosk {name}: 已中断 / interrupted", file=sys.stderr)
        return INTERRUPTED
    except BrokenPipeError:
        _quiet_stdout()
        return OUTPUT_CLOSED
    except OutputFailed as exc:
        return _output_failed(name, exc)
    except Exception as exc:
        from kiosk.outbox import OutboxError

        if isinstance(exc, OutboxError):  # the data folder's outbox.sqlite: another's file, newer, damaged
            print(f"kiosk {name}: 发件箱不能使用 / the outbox cannot be used: {exc}", file=sys.stderr)
            return 2
        return _internal_error(name, exc)


def _internal_error(name: str, exc: Exception) -> int:
    """The last-resort net: one line, never a traceback."""
    log.debug("kiosk %s failed", name, exc_info=True)
    what = f"{exc.filename}: {exc.strerror}" if isinstance(exc, OSError) and exc.filename else \
        f"{type(exc).__name__}: {str(exc)[:200]}"
    print(f"kiosk {name}: 内部错误（{type(exc).__name__}）/ internal error ({what}); "
          "this is a bug: run again with -v and report the output", file=sys.stderr)
    return INTERNAL_ERROR


if __name__ == "__main__":
    sys.exit(main())
