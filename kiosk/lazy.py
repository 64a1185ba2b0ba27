"""Lazy package fronts: a stage's `__init__` names its public parts without importing them.

Every `kiosk` command builds its parser from all the command modules, and each command reaches
its stage through the stage's front (`from kiosk.service import assemble`).  A front that
imported its modules eagerly would make `kiosk --help` or `kiosk code verify` load MQTT, crypto,
JSON Schema and pygame every time (seconds on a Pi).  So a front declares where each public
name lives, and the module is imported on first use of one of its names (PEP 562).  Type
checkers and the layering contracts still see the real imports: each front repeats them under
`TYPE_CHECKING`.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any


def front(package: str, exports: Mapping[str, str]) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """(`__getattr__`, `__dir__`) for the package `package`: `exports` maps a public name to the
    module (relative to the package) that defines it, or to `module:name` when the front renames it."""

    def __getattr__(name: str) -> Any:
        where = exports.get(name)
        if where is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        module, _, attribute = where.partition(":")
        value = getattr(importlib.import_module(f"{package}.{module}"), attribute or name)
        globals_of_package = importlib.import_module(package).__dict__
        globals_of_package[name] = value  # later lookups are plain attribute reads
        return value

    def __dir__() -> list[str]:
        return sorted(exports)

    return __getattr__, __dir__
