"""What policy the kiosks run, and each kiosk's answer to a push.

"In force" is what the kiosks say they apply, not what this console last sent: every
acknowledgement (`config/ack`) carries `applied_version`, the configuration version in force at the
kiosk after that message (applied or refused), and `policy_version`, its label.  The version most
of a township's kiosks run is the one a new policy is compared with; a kiosk running another one
is listed.  A version not pushed from this console (`kiosk township push-config`, another console)
is named, but its contents are unknown here.  With no acknowledgement at all, the last published
push stands in (or the kiosks' defaults).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from django.db import connection

from kiosk.config import PolicyConfig
from township.console.daily import as_json
from township.console.models import PolicyPush, Township


@dataclass
class InForce:
    policy: dict[str, Any]  # what a new policy is compared with
    push: PolicyPush | None  # this console's push of that version, if any
    version: int | None  # the configuration version most kiosks apply (None: no kiosk has said)
    known: bool  # the policy's contents are known (pushed from here, or the defaults)
    kiosks: dict[int | None, list[str]] = field(default_factory=dict)  # version → "site/kiosk" running it

    @property
    def others(self) -> list[tuple[int | None, list[str]]]:
        return [(v, ks) for v, ks in sorted(self.kiosks.items(), key=lambda x: (x[0] is None, x[0] or 0))
                if v != self.version]


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def running(township: Township) -> dict[str, int | None]:
    """{"site/kiosk": configuration version it applies} for every kiosk that acknowledged anything."""
    with connection.cursor() as cur:
        cur.execute("SELECT site, kiosk, ack FROM feed_kiosk WHERE township = %s AND ack IS NOT NULL",
                    (township.code,))
        rows = cur.fetchall()
    out: dict[str, int | None] = {}
    for site, kiosk, ack in rows:
        body = as_json(ack)
        out[f"{site}/{kiosk}"] = _int(body.get("applied_version")) if isinstance(body, dict) else None
    return out


def in_force(township: Township) -> InForce:
    by_kiosk = running(township)
    kiosks: dict[int | None, list[str]] = {}
    for name, version in sorted(by_kiosk.items()):
        kiosks.setdefault(version, []).append(name)
    pushes = PolicyPush.objects.filter(township=township)
    counted = Counter(v for v in by_kiosk.values() if v is not None)
    if counted:
        version = counted.most_common(1)[0][0]
        push = pushes.filter(version=version).first()
        if push is not None:
            return InForce(dict(push.payload.get("policy") or {}), push, version, True, kiosks)
        if version == 0:  # the kiosks' own kiosk.toml policy: no configuration applied yet
            return InForce(PolicyConfig().model_dump(mode="json"), None, 0, False, kiosks)
        return InForce(_last_published(pushes), None, version, False, kiosks)
    last = pushes.filter(state="published").first()
    if last is not None:
        return InForce(dict(last.payload.get("policy") or {}), last, None, True, kiosks)
    return InForce(PolicyConfig().model_dump(mode="json"), None, None, True, kiosks)


def _last_published(pushes: Any) -> dict[str, Any]:
    last = pushes.filter(state="published").first()
    return dict(last.payload.get("policy") or {}) if last is not None else PolicyConfig().model_dump(mode="json")


def diff(old: dict[str, Any], new: dict[str, Any]) -> list[tuple[str, Any, Any]]:
    return [(k, old.get(k), new.get(k)) for k in sorted(set(old) | set(new)) if old.get(k) != new.get(k)]


def acks(township: Township, push: PolicyPush) -> list[dict[str, Any]]:
    """Every kiosk of the township (registered or seen) with its acknowledgement of `push`, if any."""
    with connection.cursor() as cur:
        cur.execute("SELECT site, kiosk FROM feed_kiosk WHERE township = %s", (township.code,))
        kiosks = set(cur.fetchall())
        cur.execute("SELECT DISTINCT ON (site, kiosk) site, kiosk, status, reason, applied_version, at "
                    "FROM feed_ack WHERE township = %s AND version = %s ORDER BY site, kiosk, received_at DESC",
                    (township.code, push.version))
        got = {(r[0], r[1]): r for r in cur.fetchall()}
    kiosks |= {(s.code, k.code) for s in township.sites.all() for k in s.kiosks.all()} | set(got)
    return [{"site": s, "kiosk": k, "status": got[(s, k)][2] if (s, k) in got else None,
             "reason": got[(s, k)][3] if (s, k) in got else None,
             "at": got[(s, k)][5] if (s, k) in got else None} for s, k in sorted(kiosks)]
