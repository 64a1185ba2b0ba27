# ruff: noqa: RUF012
"""The feed's table of first-arrival days for events without a day of their own: see township/ingest/schema.py."""

from django.db import migrations

from township.ingest.schema import CREATE_SEEN, DROP_SEEN


class Migration(migrations.Migration):
    dependencies = [("console", "0003_site_zone_push_state")]
    operations = [migrations.RunSQL(CREATE_SEEN, DROP_SEEN)]
