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
    "simulated_hardware",
    "stop_on_signals",
    "to_json",
]
