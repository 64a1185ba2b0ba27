"""The reference township consumer: what a township server does with its kiosks' feed.

`township listen` (also `kiosk township listen`) stores every event once (dedup by event id) in SQLite and prints
alerts as they arrive; `report` turns a day's daily summaries into a report per site (zero
reports included); `push-config` signs and publishes configuration; `keygen` makes the
township's two key pairs.  It is a reference: small, correct, and the shape a real township
backend (behind a clustered broker with shared subscriptions) would take.
"""
