"""What verification hands on: a `CodeResult`, and for a valid code the claims it carries.

A THP1 code carries a `HealthPass`; an EU Digital COVID Certificate (HC1) a `CovidCertificate`.
All are frozen values.  They carry what policy, the event record and the command line need and
nothing more; the subject id is kept (the entry record may pseudonymise it) but never printed.
Whatever identifies the holder (the subject id, the name, an HC1 certificate's dates and result)
is left out of `repr`, so a value logged or shown in a traceback (inside a `ScannedCode` or a
`VisitorOutcome`) names nobody; the command line prints the name masked again (`mask_name`).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from typing import Any

from kiosk.healthpass.errors import ERRORS

COLOURS: tuple[str, ...] = ("G", "Y", "R")
CERTIFICATE_KINDS: tuple[str, ...] = ("vaccination", "test", "recovery")  # the DCC's v, t, r
NAAT: str = "LP6464-4"  # LOINC: nucleic acid amplification test (PCR); "LP217198-3" is a rapid antigen test
NOT_DETECTED: str = "260415000"  # SNOMED CT: the test did not detect the virus
DETECTED: str = "260373001"
# What `mask_name` makes, and an HC1 certificate's initials ("M* E*"): already masked, kept as it is.
_CONTROLS = re.compile(r"[\x00-\x1f\x7f]")  # C0 controls and DEL
_MASKED = re.compile(r"[^*\s]\*[^*\s]?|[^*\s]\*(?: [^*\s]\*)+")


def mask_name(name: str | None) -> str | None:
    """The name as the platform should have masked it, whatever it sent, without control characters.

    Keeps the first and (for three characters or more) the last character, e.g. 张三 → 张*,
    张三丰 → 张*丰, Alice Smith → A*h.  A name already in that form (张*卿) or in an HC1
    certificate's initials (M* E*) is kept; any other, with a `*` in it or not, is masked
    (Alice*Smith → A*h), so a `*` is no way to have a name printed in full.
    """
    if not name:
        return None
    # Control characters (NUL above all: PostgreSQL's jsonb cannot hold it) are no part of a name.
    name = _CONTROLS.sub("", name).strip()[:40]
    if len(name) <= 1 or _MASKED.fullmatch(name):
        return name or None
    if len(name) == 2:
        return name[0] + "*"
    return name[0] + "*" + name[-1]


@dataclass(frozen=True, slots=True)
class CodeIdentity:
    """What a verified code *says*, independent of how it was encoded: the replay guard's key.

    Two scans of the same signed pass have the same identity whatever happened to the bytes on
    the way: recompressed, CBOR tag 18 (or the CWT tag 61) added or dropped, the kid moved to
    the other header, an ES256 signature's s replaced by n−s.  It is (format, issuer, subject,
    issue time): for THP1 the subject is the pass's `sid`; an HC1 certificate has no subject id,
    so its subject is the certificate identifier `ci` (UVCI), which names the certificate
    itself, or, when an issuer left `ci` out, a digest of the certificate's canonical content.
    `issuer` is the trust list's issuer of the signing key, never a claim.

    The subject identifies a person: it is left out of `repr`, and `key` gives a digest to keep
    instead (the replay guard keys it again under a per-boot secret).
    """

    format: str
    issuer: str
    subject: str = field(repr=False)
    issued_at: int

    @property
    def key(self) -> str:
        """A hex SHA-256 of the identity: the same for every encoding of the same signed pass."""
        parts = (self.format, self.issuer, self.subject, str(self.issued_at))
        return hashlib.sha256("\x1f".join(parts).encode("utf-8", "surrogatepass")).hexdigest()


@dataclass(frozen=True, slots=True, kw_only=True)
class HealthPass:
    """The verified claims of one code.

    `sid` is pseudonymous but stable per person: printed in a log it would let anyone who reads
    the logs follow a person from checkpoint to checkpoint.  It is therefore left out of `repr`
    (and so of `str`, f-strings and tracebacks) and of `CodeResult.to_json_dict`.
    """

    iss: str
    iat: int
    exp: int
    kid: bytes
    colour: str
    sid: str = field(repr=False)
    n: str | None = field(default=None, repr=False)  # the platform's masked name, e.g. "张*卿"
    trip_days: int | None = None  # None when the code carries no itinerary
    trip_areas: tuple[str, ...] = ()
    trip_star: bool = False
    nat: int | None = None  # last negative nucleic-acid sample, epoch seconds

    @property
    def name(self) -> str | None:
        """The masked name under the name the screens and the CLI use."""
        return self.n

    @property
    def identity(self) -> CodeIdentity:
        return CodeIdentity("THP1", self.iss, self.sid, self.iat)


@dataclass(frozen=True, slots=True, kw_only=True)
class CovidCertificate:
    """The verified content of an EU Digital COVID Certificate: one vaccination, test or recovery.

    Only what policy, the event record and the command line need is kept: the holder's name
    masked to initials the way THP1 platforms mask theirs, no date of birth.  The certificate
    identifier (UVCI) would follow a person across checkpoints: it is kept only as the subject
    of `identity` (for the replay guard), out of `repr` and never printed.

    `iss` is the issuing country as the trust list gives it for the signing key (a country
    named in claim 1 must agree with it, see `dcc.check_signer`).  `schema_deviations` lists
    where the payload departs from the official DCC schema (paths and rule names, no values):
    reported, not refused (kiosk/healthpass/README.md says why).
    """

    iss: str | None  # issuing country: the trust list's for the signing key (claim 1 until checked)
    iat: int
    exp: int
    kid: bytes
    kind: str  # "vaccination", "test" or "recovery"
    country: str | None  # where the vaccination, test or recovery took place (`co`), as written
    n: str | None = field(default=None, repr=False)  # masked name, e.g. "M* E*"
    # test entry (kind == "test")
    test_type: str | None = None  # LOINC `tt`
    test_result: str | None = field(default=None, repr=False)  # SNOMED CT `tr`: health data
    sample_at: int | None = field(default=None, repr=False)  # `sc`, epoch seconds
    # vaccination entry
    dose: int | None = field(default=None, repr=False)  # `dn`
    doses: int | None = field(default=None, repr=False)  # `sd`
    vaccinated_on: str | None = field(default=None, repr=False)  # `dt`, ISO date
    # recovery entry: valid from / until, epoch seconds (until is the end of the `du` day)
    valid_from: int | None = field(default=None, repr=False)
    valid_until: int | None = field(default=None, repr=False)
    certificate_id: str = field(default="", repr=False)  # `ci`, or a digest of the content without one
    schema_deviations: tuple[str, ...] = ()

    @property
    def name(self) -> str | None:
        return self.n

    @property
    def identity(self) -> CodeIdentity:
        return CodeIdentity("HC1", self.iss or "", self.certificate_id, self.iat)

    @property
    def nat(self) -> int | None:
        """The sample time of a negative nucleic-acid test, the only entry the nucleic-acid rule reads.

        A rapid antigen test is not a nucleic-acid test, and a positive one is no negative test.
        """
        if self.kind == "test" and self.test_type == NAAT and self.test_result == NOT_DETECTED:
            return self.sample_at
        return None

    @property
    def detected(self) -> bool:
        """A test certificate whose result is positive: valid, but it proves an infection."""
        return self.kind == "test" and self.test_result == DETECTED

    def summary(self) -> dict[str, Any]:
        """The entry as the command line prints it (no name, no identifier)."""
        if self.kind == "test":
            return {"type": "test", "country": self.country, "naat": self.test_type == NAAT,
                    "detected": self.detected, "sample_at": self.sample_at}
        if self.kind == "vaccination":
            return {"type": "vaccination", "country": self.country, "dose": self.dose, "doses": self.doses,
                    "date": self.vaccinated_on}
        return {"type": "recovery", "country": self.country, "valid_from": self.valid_from,
                "valid_until": self.valid_until}


@dataclass(frozen=True, slots=True)
class CodeResult:
    """The outcome of verifying one scanned text.

    Exactly one of `error` and `health_pass` is set: a result is either valid with its claims,
    or invalid with the name of the first layer that refused it.  Claims of an invalid code are
    not kept at all, so nothing downstream can act on a forged colour by mistake.
    """

    valid: bool
    error: str | None
    format: str | None = "THP1"  # None when the text was not a format this verifier reads
    health_pass: HealthPass | CovidCertificate | None = None  # a CovidCertificate when format is HC1
    detail: str = field(default="", compare=False)  # for logs; never holds claim values

    def __post_init__(self) -> None:
        if self.valid != (self.error is None) or self.valid != (self.health_pass is not None):
            raise ValueError("a valid result has claims and no error; an invalid one the reverse")
        if self.error is not None and self.error not in ERRORS:
            raise ValueError(f"unknown error {self.error!r}")

    @classmethod
    def accepted(cls, health_pass: HealthPass | CovidCertificate, *, format: str = "THP1",
                 detail: str = "") -> CodeResult:
        return cls(True, None, format, health_pass, detail)

    @classmethod
    def rejected(cls, error: str, *, format: str | None = "THP1", detail: str = "") -> CodeResult:
        return cls(False, error, format, None, detail)

    @property
    def identity(self) -> CodeIdentity | None:
        """What a valid code says, for recognising the same signed pass again (None when invalid)."""
        return self.health_pass.identity if self.health_pass is not None else None

    @property
    def colour(self) -> str | None:
        """"G", "Y" or "R" for a valid THP1 code; None for an invalid one, whatever it claimed.

        An HC1 certificate has no colour (policy counts a valid one as green; see `facts_of`).
        """
        return self.health_pass.colour if isinstance(self.health_pass, HealthPass) else None

    def to_json_dict(self) -> dict[str, Any]:
        """The result as the command line prints it: every claim policy uses, never the sid, the name masked.

        An HC1 result has the same keys (`trip` null, `nat` the negative nucleic-acid sample
        time, if any) and one more, `certificate`, summarising its entry.
        """
        hp = self.health_pass
        trip = ({"days": hp.trip_days, "areas": list(hp.trip_areas), "star": hp.trip_star}
                if isinstance(hp, HealthPass) else None)
        extra = {"certificate": hp.summary()} if isinstance(hp, CovidCertificate) else {}
        return {
            "valid": self.valid,
            "error": self.error,
            "detail": self.detail,
            "format": self.format,
            "colour": self.colour,
            "iss": hp.iss if hp else None,
            "iat": hp.iat if hp else None,
            "exp": hp.exp if hp else None,
            "trip": trip,
            "nat": hp.nat if hp else None,
            "name": mask_name(hp.name) if hp else None,
            **extra,
        }
