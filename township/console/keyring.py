"""Each township's private keys, and only its own: `TOWNSHIP_KEYS_DIR/<township id>/`.

    config-signing.pem   Ed25519: signs that township's policies (its kiosks verify with their
                         `uplink.config_public_key`, so a key signs for one township only)
    seal.pem             X25519: opens that township's sealed subject ids (privacy role, audited)

`kiosk township keygen $TOWNSHIP_KEYS_DIR/<township id>` makes both (0600).  A key file another
user could read is refused, not used: the console's OS user alone reads them.  Nothing here puts
a key, or a part of one, into a message or a log line.  Where the signer should live apart from the
web process (its own OS user and socket), township/README.md says how.
"""

from __future__ import annotations

import os
import re
import stat
from functools import lru_cache
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.conf import settings

from kiosk.feed.sealing import SubjectOpener
from township.keys import SEALING_KEY_FILE, SIGNING_KEY_FILE, load_signing_key

_CODE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


class KeyUnavailable(Exception):
    """No usable key for this township (missing, unreadable, or readable by others): the reason."""


def key_file(township: str, name: str) -> Path:
    if not settings.TOWNSHIP_KEYS_DIR:
        raise KeyUnavailable("no key folder is configured (TOWNSHIP_KEYS_DIR)")
    if not _CODE.match(township):
        raise KeyUnavailable(f"not a township id: {township!r}")
    path = Path(settings.TOWNSHIP_KEYS_DIR) / township / name
    try:
        info = path.stat()
    except OSError as exc:
        raise KeyUnavailable(f"township {township}: no key {path} ({exc.strerror})") from None
    if not stat.S_ISREG(info.st_mode):
        raise KeyUnavailable(f"township {township}: {path} is not a file")
    if info.st_mode & 0o077:
        raise KeyUnavailable(f"township {township}: {path} may be read by other users "
                             f"(mode {stat.S_IMODE(info.st_mode):o}); chmod 600 it")
    if info.st_uid != os.geteuid():
        raise KeyUnavailable(f"township {township}: {path} belongs to another user")
    return path


def signing_key(township: str) -> Ed25519PrivateKey:
    path = key_file(township, SIGNING_KEY_FILE)
    try:
        return load_signing_key(path)
    except (OSError, ValueError, TypeError) as exc:
        raise KeyUnavailable(f"township {township}: {path} is not a usable signing key "
                             f"({type(exc).__name__})") from None


def opener(township: str) -> SubjectOpener:
    path = key_file(township, SEALING_KEY_FILE)
    info = path.stat()
    try:
        return _opener(str(path), info.st_mtime_ns, info.st_size)
    except (OSError, ValueError, TypeError) as exc:
        raise KeyUnavailable(f"township {township}: {path} is not a usable sealing key "
                             f"({type(exc).__name__})") from None


@lru_cache(maxsize=64)
def _opener(path: str, _mtime_ns: int, _size: int) -> SubjectOpener:
    return SubjectOpener.from_pem(Path(path).read_bytes())
