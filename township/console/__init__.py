"""The township console: a Django 5.2 site (ASGI, uvicorn) over the feed in PostgreSQL.

What the township office sees and does: 今日 (every registered site's daily report against its
deadline), 告警 (live alerts, acknowledged and closed with a disposition), 设备 (kiosk health),
报表 (reports and .xlsx export), 查询 (search, unsealing with the privacy role), 策略 (policy
push with each kiosk's acknowledgement), and Django's admin for sites, kiosks and users.
The ingest side (`township.ingest`) writes the tables this app's migrations create.
Settings come from the environment (`township.console.settings`), so one package serves every
township or county without a settings file of its own.
"""
