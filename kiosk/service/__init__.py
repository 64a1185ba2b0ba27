"""The kiosk as a service: assembling it, running it under systemd, and the technician's tools.

The parts:

* `assemble`, `Hardware`, `Assembly`, `open_hardware`, `run_kiosk` (`kiosk.service.app`): the
  composition root, the one place a configuration becomes running parts; the `build_*`
  functions there open each part the configuration names;
* `Watchdog`, `Liveness` (`kiosk.service.watchdog`): systemd's watchdog, fed from the loop's passes;
* `diagnose`, `record_failure` (`kiosk.service.maintenance`): what the maintenance screen says;
* `provision` (`kiosk.service.provisioning`): installing a kiosk's files from the boot partition;
* `run_selftest` and its report (`kiosk.service.selftest`, items in `kiosk.service.checklist`);
* `kiosk.service.calibration`: the calibration against a reference (`kiosk calibrate`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from kiosk.lazy import front

if TYPE_CHECKING:
    from kiosk.service.app import (
        Assembly,
        Hardware,
        assemble,
        build_camera,
        build_decoder,
        build_display,
        build_outbox,
        build_sensor,
        build_signals,
        build_uplink,
        build_voice,
        open_hardware,
        run_kiosk,
        screen_renderer,
        stop_on_signals,
    )
    from kiosk.service.maintenance import Diagnosis, diagnose, record_failure
    from kiosk.service.provisioning import ProvisioningReport, provision
    from kiosk.service.selftest import (
        FAULTS,
        CheckResult,
        PartsToCheck,
        exit_code,
        format_text,
        real_hardware,
        run_selftest,
        simulated_hardware,
        to_json,
    )
    from kiosk.service.watchdog import Liveness, Watchdog

_EXPORTS = {
    "Assembly": "app",
    "CheckResult": "selftest",
    "Diagnosis": "maintenance",
    "FAULTS": "selftest",
    "Hardware": "app",
    "Liveness": "watchdog",
    "PartsToCheck": "selftest",
    "ProvisioningReport": "provisioning",
    "Watchdog": "watchdog",
    "assemble": "app",
    "build_camera": "app",
    "build_decoder": "app",
    "build_display": "app",
    "build_outbox": "app",
    "build_sensor": "app",
    "build_signals": "app",
    "build_uplink": "app",
    "build_voice": "app",
    "diagnose": "maintenance",
    "exit_code": "selftest",
    "format_text": "selftest",
    "open_hardware": "app",
    "provision": "provisioning",
    "real_hardware": "selftest",
    "record_failure": "maintenance",
    "run_kiosk": "app",
    "run_selftest": "selftest",
    "screen_renderer": "app",
    "simulated_hardware": "selftest",
    "stop_on_signals": "app",
    "to_json": "selftest",
}
__getattr__, __dir__ = front(__name__, _EXPORTS)
__all__ = [
    "FAULTS",
    "Assembly",
    "CheckResult",
    "Diagnosis",
    "Hardware",
    "Liveness",
    "PartsToCheck",
    "ProvisioningReport",
    "Watchdog",
    "assemble",
    "build_camera",
    "build_decoder",
    "build_display",
    "build_outbox",
    "build_sensor",
    "build_signals",
    "build_uplink",
    "build_voice",
    "diagnose",
    "exit_code",
    "format_text",
    "open_hardware",
    "provision",
    "real_hardware",
    "record_failure",
    "run_kiosk",
    "run_selftest",
    "screen_renderer",
    "simulated_hardware",
    "stop_on_signals",
    "to_json",
]  # the same names as _EXPORTS
