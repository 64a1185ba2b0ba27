"""The ingester's SQL: one statement per table per batch (`INSERT … SELECT FROM unnest(…)`).

Rows arrive sorted by primary key (`pgstore`), so concurrent listeners of one `$share` group take
their row locks in the same order and cannot deadlock one another.  The kiosk upsert keeps the
newest status, health and acknowledgement by time, whichever listener commits last.
"""

INSERT_ENTRIES = """
INSERT INTO feed_entry (day, township, site, kiosk, event_id, at, received_at, alert, decision, reasons,
                        temperature_c, policy_version, name, sid_sealed, sid, payload)
SELECT d, t, s, k, e, to_timestamp(a), to_timestamp(r), al, dec, coalesce(string_to_array(NULLIF(rs, ''), ','), '{}'),
       tc, pv, nm, ss, sd, p::jsonb
FROM unnest(%s::date[], %s::text[], %s::text[], %s::text[], %s::text[], %s::float8[], %s::float8[], %s::bool[],
            %s::text[], %s::text[], %s::float8[], %s::text[], %s::text[], %s::text[], %s::text[], %s::text[])
     AS u(d, t, s, k, e, a, r, al, dec, rs, tc, pv, nm, ss, sd, p)
ON CONFLICT DO NOTHING
RETURNING township, site, kiosk, event_id
"""

INSERT_ALERTS = """
INSERT INTO console_alert (day, township, site, kiosk, event_id, at, received_at, decision, reasons, temperature_c,
                           policy_version, name)
SELECT d, t, s, k, e, to_timestamp(coalesce(a, r)), to_timestamp(r), coalesce(dec, 'STOP'),
       to_jsonb(coalesce(string_to_array(NULLIF(rs, ''), ','), '{}')), tc, pv, nm
FROM unnest(%s::date[], %s::text[], %s::text[], %s::text[], %s::text[], %s::float8[], %s::float8[], %s::bool[],
            %s::text[], %s::text[], %s::float8[], %s::text[], %s::text[], %s::text[], %s::text[], %s::text[])
     AS u(d, t, s, k, e, a, r, al, dec, rs, tc, pv, nm, ss, sd, p)
ON CONFLICT DO NOTHING
"""

INSERT_HEALTH = """
INSERT INTO feed_health (day, township, site, kiosk, event_id, at, received_at, payload)
SELECT d, t, s, k, e, to_timestamp(a), to_timestamp(r), p::jsonb
FROM unnest(%s::date[], %s::text[], %s::text[], %s::text[], %s::text[], %s::float8[], %s::float8[], %s::text[])
     AS u(d, t, s, k, e, a, r, p)
ON CONFLICT DO NOTHING
RETURNING township, site, kiosk, event_id
"""

INSERT_DAILY = """
INSERT INTO feed_daily (township, site, kiosk, event_id, day, received_at, visitors, alerts, in_service_s, payload)
SELECT t, s, k, e, d, to_timestamp(r), v, al, sv, p::jsonb
FROM unnest(%s::text[], %s::text[], %s::text[], %s::text[], %s::date[], %s::float8[], %s::int[], %s::int[],
            %s::int[], %s::text[]) AS u(t, s, k, e, d, r, v, al, sv, p)
ON CONFLICT DO NOTHING
RETURNING township, site, kiosk, event_id
"""

INSERT_ACK = """
INSERT INTO feed_ack (township, site, kiosk, event_id, at, received_at, status, version, applied_version, reason,
                      payload)
SELECT t, s, k, e, to_timestamp(a), to_timestamp(r), st, v, av, rs, p::jsonb
FROM unnest(%s::text[], %s::text[], %s::text[], %s::text[], %s::float8[], %s::float8[], %s::text[], %s::int8[],
            %s::int8[], %s::text[], %s::text[]) AS u(t, s, k, e, a, r, st, v, av, rs, p)
ON CONFLICT DO NOTHING
RETURNING township, site, kiosk, event_id
"""

UPSERT_KIOSKS = """
INSERT INTO feed_kiosk AS f (township, site, kiosk, first_seen, last_seen, status, status_at, health, health_at, ack,
                             ack_at)
SELECT t, s, k, to_timestamp(seen), to_timestamp(seen), st, to_timestamp(st_at), h::jsonb, to_timestamp(h_at),
       ak::jsonb, to_timestamp(ak_at)
FROM unnest(%s::text[], %s::text[], %s::text[], %s::float8[], %s::text[], %s::float8[], %s::text[], %s::float8[],
            %s::text[], %s::float8[]) AS u(t, s, k, seen, st, st_at, h, h_at, ak, ak_at)
ON CONFLICT (township, site, kiosk) DO UPDATE SET
    last_seen = greatest(f.last_seen, excluded.last_seen),
    status = CASE WHEN excluded.status_at >= coalesce(f.status_at, '-infinity') THEN excluded.status ELSE f.status END,
    status_at = greatest(excluded.status_at, f.status_at),
    health = CASE WHEN excluded.health_at >= coalesce(f.health_at, '-infinity') THEN excluded.health ELSE f.health END,
    health_at = greatest(excluded.health_at, f.health_at),
    ack = CASE WHEN excluded.ack_at >= coalesce(f.ack_at, '-infinity') THEN excluded.ack ELSE f.ack END,
    ack_at = greatest(excluded.ack_at, f.ack_at)
"""

SEEN_INSERT = """
INSERT INTO feed_seen (township, site, kiosk, event_id, day)
SELECT t, s, k, e, d FROM unnest(%s::text[], %s::text[], %s::text[], %s::text[], %s::date[]) AS u(t, s, k, e, d)
ORDER BY t, s, k, e
ON CONFLICT DO NOTHING
"""

SEEN_SELECT = """
SELECT f.township, f.site, f.kiosk, f.event_id, f.day
FROM feed_seen f JOIN unnest(%s::text[], %s::text[], %s::text[], %s::text[]) AS u(t, s, k, e)
  ON (f.township, f.site, f.kiosk, f.event_id) = (u.t, u.s, u.k, u.e)
"""

COUNT = """
INSERT INTO feed_counter (name, n) VALUES (%s, %s) ON CONFLICT (name) DO UPDATE SET n = feed_counter.n + excluded.n
"""
