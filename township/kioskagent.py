"""A kiosk's township link without its screening loop: for the demo and the console's tests.

`kiosk run --simulated` plays visitors with no broker, and `kiosk simulate --broker` publishes a
scenario and exits; neither stays online to follow the township's configuration.  This runs the
kiosk's own feed stack (`kiosk.service.app`: outbox, MQTT uplink with its Last Will, health
reports, the daily summary) and its own signed-configuration handling (`RemoteConfig`, the acks
on `config/ack`), standing in only for the camera-and-sensor loop.  So the console sees a real
kiosk come online, report health, apply or refuse a policy, and go offline.

    python -m township.kioskagent --config kiosk.toml      # until SIGTERM
"""

from __future__ import annotations

import argparse
import signal
import sys

from kiosk.checkpoint import PolicyInForce
from kiosk.clock import RealClock
from kiosk.config import load_config
from kiosk.feed import Feed, PolicyState, RemoteConfig, listen_for_config
from kiosk.healthpass import TrustList
from kiosk.ports import KioskStatus
from kiosk.service import build_outbox, build_uplink


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="township-kioskagent")
    parser.add_argument("--config", required=True)
    args = parser.parse_args(argv)
    config = load_config(args.config)
    clock = RealClock()
    trust = TrustList.from_file(config.health_pass.trust_list)
    outbox = build_outbox(config, clock)
    uplink = build_uplink(config, outbox, clock=clock)
    remote = RemoteConfig.from_config(config, PolicyState.build(config.policy, trust), wall=clock.wall,
                                      clock_synced=lambda: True)
    policy = PolicyInForce(remote.current.policy)  # as the kiosk's composition root wires it
    feed = Feed.build(config, clock, outbox, uplink, policy=policy)
    remote.on_apply.append(lambda state: policy.replace(state.policy))
    listen_for_config(remote, uplink, feed.entries, clock.wall)
    # What a kiosk with a working sensor and camera and a synchronised clock reports.
    status = KioskStatus(sensor_ok=True, camera_ok=True, clock_synced=True)
    stopping = False

    def stop(*_: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    print(f"kiosk agent {config.site.township}/{config.site.site_id}/{config.site.kiosk_id} running", flush=True)
    try:
        while not stopping:
            feed.pump.poll(status)
            if uplink is not None:
                uplink.wait(0.1)
    finally:
        feed.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
