# ruff: noqa: RUF012
"""The feed's tables (partitioned by day), written by `township.ingest`: see township/ingest/schema.py."""

from django.db import migrations

from township.ingest.schema import CREATE, DROP


class Migration(migrations.Migration):
    dependencies = [("console", "0001_initial")]
    operations = [migrations.RunSQL(CREATE, DROP)]
