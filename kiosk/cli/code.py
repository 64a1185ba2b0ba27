"""`kiosk code verify`: one code (QR text, an image, or stdin), or a whole batch in one process.

The single-code contract is the one the README shows: the result object on stdout, exit 0 if
the code is valid and 1 otherwise.  `--batch IN.jsonl` is for technicians and audits: one JSON
object per input line, one result per output line with the same `id`, thousands of lines a
second because the trust list, the verifier and the QR decoder are built once.  A bad line is
an error result for that line and the batch goes on: an audit file with one typo must still
be read to the end.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import math
import sys
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, Any, Final

from kiosk.errors import KioskError

MAX_LINE: Final = 64 * 1024  # a QR holds 4296 characters; a longer line is not a code to verify
BAD_LINE: Final = "bad_line"  # batch errors beside the verifier's own: the line itself is unusable
IMAGE_UNREADABLE: Final = "image_unreadable"
NO_QR: Final = "no_qr"
SEVERAL_QR: Final = "several_qr"

EPILOG = """\
input: QR text as the argument, an image file (a path that exists, or --image), or - for stdin.
batch: --batch FILE (or - for stdin) holds one JSON object per line:
  {"id": ..., "text": "THP1:..."}  or  {"id": ..., "image": "path.png"},  optional "at": epoch seconds
  (default --at, else now).  Each output line is the result with the same "id" and its "line" number;
  an image's result also has "text_sha256", the SHA-256 of the decoded QR text (null if none): never
  the text itself, which holds the subject id and name in clear. A malformed line gives an error
  result ("error": "bad_line") for its id (or line number) and the batch goes on.
formats: THP1 and HC1 (EU DCC); the result's "format" says which was found.
exit status: 0 if the code (with --batch: every line) is valid, 1 otherwise, 2 on a usage error,
  a trust list that cannot be read, or an argument that names an image file that is not there."""
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".gif", ".bmp", ".webp", ".tif", ".tiff", ".pgm", ".ppm", ".heic")
CODE_PREFIXES = ("THP1:", "HC1:")


def register(sub: Any) -> None:
    """Add `kiosk code verify` to the `kiosk` command's subcommands."""
    code = sub.add_parser("code", help="health codes").add_subparsers(dest="action", required=True)
    verify = code.add_parser("verify", help="verify a code: QR text (argument or stdin), an image file, or a batch",
                             epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    verify.add_argument("input", nargs="?", help="QR text, an image path, or - for stdin")
    verify.add_argument("--image", help="read the QR code from this image file")
    verify.add_argument("--batch", metavar="IN.jsonl", help="verify every line of this JSON-lines file (- for stdin)")
    verify.add_argument("--trust", required=True, help="trust list (JSON)")
    verify.add_argument("--at", type=float, help="validation time, epoch seconds (default: now)")
    verify.add_argument("--max-age", type=int, default=300, help="maximum code age, s (default 300)")
    verify.add_argument("--skew", type=int, default=60, help="allowed clock skew, s (default 60)")
    from drivers.qr.decoders import DECODER_KINDS  # names only: no decoder library is loaded here

    verify.add_argument("--decoder", choices=DECODER_KINDS, default=DECODER_KINDS[0],
                        help=f"QR decoder for images (default {DECODER_KINDS[0]})")
    verify.set_defaults(func=cmd_code_verify)


def _print_json(obj: object, out: IO[str] | None = None) -> None:
    (out or sys.stdout).write(json.dumps(obj, ensure_ascii=False) + "\n")


def image_decoder(kind: str | None = None) -> Any:
    """The QR decoder for images, by the drivers' name for it (default: the drivers' default decoder)."""
    from drivers.qr.decoders import DECODER_KINDS, make_decoder

    return make_decoder(kind or DECODER_KINDS[0])


def decode_image(decoder: Any, path: str | IO[bytes]) -> list[str]:
    """The QR texts in an image file (or bytes), through the drivers' image loading and the given decoder."""
    from drivers.qr.images import load_gray

    return list(decoder.decode(load_gray(path)))


def not_a_regular_file(text: str) -> str:
    """Why `text`, a path that exists, cannot be an image file ("" if it is a regular file or no path at all):
    /dev/zero or a fifo would be read forever."""
    try:
        path = Path(text)
        if not path.exists() or path.is_file():
            return ""
    except (OSError, ValueError):
        return ""
    return "a directory" if path.is_dir() else "not a regular file (a device, a fifo or a socket)"


def _image_error(error: str, detail: str = "") -> dict[str, Any]:
    return {"valid": False, "error": error, "detail": detail, "format": None, "colour": None, "text_sha256": None}


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", errors="surrogateescape")).hexdigest()


def is_file(text: str) -> bool:
    """Whether `text` names an existing file; False (not an error) for text no path can be, e.g. a
    whole QR code longer than a file name may be (ENAMETOOLONG) or holding a NUL."""
    try:
        return Path(text).is_file()
    except (OSError, ValueError):
        return False


def looks_like_a_path(text: str) -> bool:
    """An argument meant as an image that is not there: an image suffix, or a path with no code prefix.

    QR text that is a code starts with its prefix; a path such as `photos/code.png` does not.
    """
    if text.startswith(CODE_PREFIXES) or len(text) > 4096 or "://" in text or "\n" in text:
        return False  # a code, or a URL (another QR's text): the verifier says what it is
    return text.lower().endswith(IMAGE_SUFFIXES) or text.startswith(("/", "./", "../", "~/", ".\\", "C:\\"))


def _holds_code_text(path: str) -> bool:
    try:
        with open(path, "rb") as f:
            return f.read(8).lstrip(b"\xef\xbb\xbf \t\r\n").startswith(tuple(p.encode() for p in CODE_PREFIXES))
    except OSError:
        return False


def cmd_code_verify(args: argparse.Namespace) -> int:
    from kiosk.healthpass import TrustList, TrustListError, Verifier

    if args.batch is not None and (args.input is not None or args.image is not None):
        print("kiosk code verify: --batch takes no other input", file=sys.stderr)
        return 2
    for name, value in (("--at", args.at), ("--max-age", args.max_age), ("--skew", args.skew)):
        if value is not None and not (math.isfinite(value) and value >= 0):
            print(f"kiosk code verify: {name} must be a finite number, 0 or more (not {value})", file=sys.stderr)
            return 2
    try:
        trust = TrustList.from_file(args.trust)
        verifier = Verifier(trust, max_code_age_s=args.max_age, clock_skew_s=args.skew)
    except UnicodeDecodeError:
        print(f"kiosk code verify: 信任列表 {args.trust} 不是 UTF-8 编码，请另存为 UTF-8 / the trust list {args.trust} "
              "is not UTF-8: save it as UTF-8", file=sys.stderr)
        return 2
    except OSError as exc:
        from kiosk.config_problems import errno_words

        zh, en = errno_words(exc)
        print(f"kiosk code verify: 无法读取信任列表 {args.trust}（{zh}）/ cannot use the trust list {args.trust}: {en}",
              file=sys.stderr)
        return 2
    except (TrustListError, ValueError) as exc:
        print(f"kiosk code verify: 信任列表无法使用 / cannot use the trust list {args.trust}: {exc}", file=sys.stderr)
        return 2
    reads_stdin = args.batch == "-" or (args.batch is None and args.image is None and args.input in (None, "-"))
    if reads_stdin and sys.stdin is None:
        print("kiosk code verify: 标准输入已关闭 / standard input is closed: give the code as an argument, "
              "or the batch as a file", file=sys.stderr)
        return 2
    if args.batch is not None:
        try:
            if args.batch == "-":  # bytes that are not UTF-8 make bad lines, not a decode error
                stream = io.TextIOWrapper(sys.stdin.buffer, encoding="utf-8", errors="surrogateescape")
                return verify_batch(verifier, bounded_lines(stream), at=args.at, decoder_kind=args.decoder)
            with open(args.batch, encoding="utf-8", errors="surrogateescape") as stream:
                return verify_batch(verifier, bounded_lines(stream), at=args.at, decoder_kind=args.decoder)
        except NotText as exc:
            print(f"kiosk code verify: 批量文件不是文本文件（第 {exc.line} 行有 NUL 字节）/ the batch is not a text "
                  f"file (a NUL byte on line {exc.line}): one JSON object per line", file=sys.stderr)
            return 2
        except OSError as exc:
            print(f"kiosk code verify: 无法读取批量文件（{exc.strerror or exc}）/ cannot read the batch: "
                  f"{exc.strerror or exc}", file=sys.stderr)
            return 2
    at = args.at if args.at is not None else time.time()
    source: str | IO[bytes] | None = args.image
    text = args.input
    if args.image is not None and args.input is not None:
        print("kiosk code verify: give the image with --image or as the argument, not both", file=sys.stderr)
        return 2
    if args.image is not None and not Path(args.image).exists() and args.image.startswith(CODE_PREFIXES):
        print("kiosk code verify: --image takes an image file; give the QR text as the argument "
              "(kiosk code verify 'THP1:...')", file=sys.stderr)
        return 2
    for given in (args.image, text):
        why = not_a_regular_file(given) if given not in (None, "-") else ""
        if why:
            print(f"kiosk code verify: {given}: {why}; give an image file or the QR text", file=sys.stderr)
            return 2
    if source is None and text is not None and text != "-":
        if is_file(text):
            source = text  # an existing file is an image; anything else is QR text ...
        elif looks_like_a_path(text):  # ... unless it is plainly a path: a mistyped image name
            print(f"kiosk code verify: no such image file: {text} (QR text starts with "
                  f"{' or '.join(CODE_PREFIXES)})", file=sys.stderr)
            return 2
    if isinstance(source, str) and _holds_code_text(source):
        print(f"kiosk code verify: {source} holds QR text, not an image: give the text as the argument, "
              f"or the file on stdin (kiosk code verify - < {source})", file=sys.stderr)
        return 2
    if source is None and text in (None, "-"):
        data = sys.stdin.buffer.read(MAX_LINE + 1)
        from drivers.qr.images import looks_like_an_image

        if looks_like_an_image(data[:16]):  # `kiosk code verify - < qr.png`: an image, read whole
            source = io.BytesIO(data + sys.stdin.buffer.read(64 * 1024 * 1024))
        else:
            text = data.decode("utf-8", errors="replace").strip()
    if source is not None:
        try:
            texts = decode_image(image_decoder(args.decoder), source)
        except (OSError, ValueError) as exc:
            _print_json(_image_error(IMAGE_UNREADABLE, f"{type(exc).__name__}: {exc}"))
            return 1
        if len(texts) != 1:
            _print_json({"valid": False, "error": NO_QR if not texts else SEVERAL_QR, "colour": None,
                         "text_sha256": None})
            return 1
        text = texts[0]
    assert text is not None
    result = verifier.verify(text, at)
    _print_json(result.to_json_dict())
    return 0 if result.valid else 1


# ------------------------------------------------------------------------------------ batch
class NotText(KioskError, ValueError):
    """The batch holds a NUL byte: a binary file (or /dev/zero), not JSON lines."""

    def __init__(self, line: int) -> None:
        super().__init__(f"a NUL byte on line {line}")
        self.line = line


def bounded_lines(stream: IO[str]) -> Iterator[str]:
    """The lines of `stream`, none longer than `MAX_LINE` + 1 characters in memory.

    A longer line is handed on cut there (`parse_line` refuses it as too long) and the rest of it
    is read in bounded pieces and dropped, so a file without line breaks cannot fill the memory;
    a NUL byte (a binary file, /dev/zero) ends the batch (`NotText`).
    """
    number = 0
    while True:
        line = stream.readline(MAX_LINE + 1)
        if not line:
            return
        number += 1
        if "\0" in line:
            raise NotText(number)
        if len(line) > MAX_LINE and not line.endswith("\n"):
            while True:
                rest = stream.readline(MAX_LINE)
                if "\0" in rest:
                    raise NotText(number)
                if not rest or rest.endswith("\n"):
                    break
        yield line


class BadLine(KioskError, ValueError):
    """A batch line that cannot be verified as it is; the message says why (never its content)."""

    def __init__(self, message: str, ident: Any = None) -> None:
        super().__init__(message)
        self.ident = ident  # the line's id when it had a usable one, so the error can carry it


def _line_at(obj: dict[str, Any], default: float | None) -> float:
    if "at" not in obj:
        return default if default is not None else time.time()
    at = obj["at"]
    try:
        if isinstance(at, int | float) and not isinstance(at, bool) and math.isfinite(at):
            return float(at)
    except OverflowError:  # an integer too large for a float: no clock reads that
        pass
    raise BadLine('"at" is not a finite number of epoch seconds')


def parse_line(raw: str) -> tuple[dict[str, Any], Any]:
    """(the object, its id) of one batch line; raises `BadLine` (its id attached when it had one)."""
    if len(raw) > MAX_LINE:
        raise BadLine(f"line longer than {MAX_LINE} characters")
    try:
        obj = json.loads(raw)
    except (ValueError, RecursionError) as exc:
        raise BadLine(f"not JSON ({type(exc).__name__})") from exc
    if not isinstance(obj, dict):
        raise BadLine("not a JSON object")
    ident = obj.get("id")
    if ident is not None and (not isinstance(ident, str | int | float) or isinstance(ident, bool)):
        raise BadLine('"id" is not a string or a number')
    has_text, has_image = "text" in obj, "image" in obj
    if has_text == has_image:
        raise BadLine('exactly one of "text" and "image" is required', ident)
    field = "text" if has_text else "image"
    if not isinstance(obj[field], str):
        raise BadLine(f'"{field}" is not a string', ident)
    return obj, ident


def verify_lines(verifier: Any, lines: Iterable[str], *, at: float | None = None,
                 decoder_kind: str | None = None) -> Iterator[dict[str, Any]]:
    """One result object per non-blank line: the verifier's result, or a batch error, with id and line.

    The image decoder is built on the first image line (a text-only batch never loads zbar).
    Nothing a line holds can stop the batch: every failure becomes that line's result.
    """
    decoder = None
    for number, raw in enumerate(lines, start=1):
        if not raw.strip():
            continue
        ident: Any = None
        try:
            obj, ident = parse_line(raw)
            when = _line_at(obj, at)
        except BadLine as exc:
            ident = exc.ident if exc.ident is not None else ident
            yield {"id": ident, "line": number, "valid": False, "error": BAD_LINE, "detail": str(exc),
                   "format": None, "colour": None}
            continue
        head = {"id": ident, "line": number}
        if "image" in obj:
            try:
                decoder = decoder or image_decoder(decoder_kind)
                texts = decode_image(decoder, obj["image"])
            except Exception as exc:  # a missing file, a corrupt image, a decoder failure: this line only
                yield {**head, **_image_error(IMAGE_UNREADABLE, type(exc).__name__)}
                continue
            if len(texts) != 1:
                yield {**head, **_image_error(NO_QR if not texts else SEVERAL_QR)}
                continue
            # never the decoded text: it holds the subject id and the name in clear
            yield {**head, **verifier.verify(texts[0], when).to_json_dict(), "text_sha256": _digest(texts[0])}
        else:
            yield {**head, **verifier.verify(obj["text"], when).to_json_dict()}


def verify_batch(verifier: Any, lines: Iterable[str], *, at: float | None = None, out: IO[str] | None = None,
                 decoder_kind: str | None = None) -> int:
    """Print one result per line; 0 if every line was a valid code, 1 otherwise."""
    all_valid = True
    for result in verify_lines(verifier, lines, at=at, decoder_kind=decoder_kind):
        all_valid = all_valid and result["valid"] is True
        _print_json(result, out)
    return 0 if all_valid else 1
