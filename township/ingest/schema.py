"""The feed's tables in PostgreSQL (applied by the console's migration 0002).

* `feed_entry` (entries and alerts) and `feed_health` are partitioned by local day: a county day
  is ~400,000 entries and ~288,000 health reports, and retention is `DROP TABLE` of a day's
  partition (instant, no vacuum), not a `DELETE` of millions of rows.  The partition key is in
  the primary key, as PostgreSQL requires; the day is the local day of the event's own `at` (else
  of its UUIDv7, else of its first arrival, remembered in `feed_seen`), so a re-sent event lands on
  the same day and is dropped there as a duplicate.
* `feed_daily`, `feed_ack` are small (one row per kiosk and day / per configuration message).
* `feed_kiosk` is the kiosk's latest state (status from the Last Will, last health, last ack),
  upserted by the ingester so the 设备 page reads 200 rows, not the health history.
"""

from __future__ import annotations

CREATE = """
CREATE TABLE feed_entry (
    day date NOT NULL,
    township text NOT NULL, site text NOT NULL, kiosk text NOT NULL, event_id text NOT NULL,
    at timestamptz, received_at timestamptz NOT NULL,
    alert boolean NOT NULL DEFAULT false, decision text, reasons text[] NOT NULL DEFAULT '{}',
    temperature_c real, policy_version text, name text, sid_sealed text, sid text,
    payload jsonb NOT NULL,
    PRIMARY KEY (day, township, site, kiosk, event_id)
) PARTITION BY RANGE (day);
CREATE INDEX feed_entry_site_at ON feed_entry (township, site, at);

CREATE TABLE feed_health (
    day date NOT NULL,
    township text NOT NULL, site text NOT NULL, kiosk text NOT NULL, event_id text NOT NULL,
    at timestamptz, received_at timestamptz NOT NULL, payload jsonb NOT NULL,
    PRIMARY KEY (day, township, site, kiosk, event_id)
) PARTITION BY RANGE (day);

CREATE TABLE feed_daily (
    township text NOT NULL, site text NOT NULL, kiosk text NOT NULL, event_id text NOT NULL,
    day date NOT NULL, received_at timestamptz NOT NULL,
    visitors integer, alerts integer, in_service_s integer, payload jsonb NOT NULL,
    PRIMARY KEY (township, site, kiosk, event_id)
);
CREATE INDEX feed_daily_day ON feed_daily (day, township, site, kiosk, received_at);

CREATE TABLE feed_ack (
    township text NOT NULL, site text NOT NULL, kiosk text NOT NULL, event_id text NOT NULL,
    at timestamptz, received_at timestamptz NOT NULL, status text, version bigint, applied_version bigint,
    reason text, payload jsonb NOT NULL,
    PRIMARY KEY (township, site, kiosk, event_id)
);
CREATE INDEX feed_ack_version ON feed_ack (township, version);

CREATE TABLE feed_kiosk (
    township text NOT NULL, site text NOT NULL, kiosk text NOT NULL,
    status text, status_at timestamptz, first_seen timestamptz NOT NULL, last_seen timestamptz NOT NULL,
    health jsonb, health_at timestamptz, ack jsonb, ack_at timestamptz,
    PRIMARY KEY (township, site, kiosk)
);

CREATE TABLE feed_counter (name text PRIMARY KEY, n bigint NOT NULL);
"""

DROP = """
DROP TABLE IF EXISTS feed_entry, feed_health, feed_daily, feed_ack, feed_kiosk, feed_counter CASCADE;
"""

# Migration 0004.  Events whose day cannot be told from the event itself (no believable `at`, an
# id that is not a believable UUIDv7: a Pi whose clock was never set) are filed under the day they
# first arrived; this small unpartitioned table remembers that day, so a re-send after midnight
# lands on the same day's partition and is dropped there as a duplicate.
CREATE_SEEN = """
CREATE TABLE feed_seen (
    township text NOT NULL, site text NOT NULL, kiosk text NOT NULL, event_id text NOT NULL, day date NOT NULL,
    PRIMARY KEY (township, site, kiosk, event_id)
);
CREATE INDEX feed_seen_day ON feed_seen (day);
"""
DROP_SEEN = "DROP TABLE IF EXISTS feed_seen;"

PARTITIONED = ("feed_entry", "feed_health")
NOTIFY_CHANNEL = "township_feed"
