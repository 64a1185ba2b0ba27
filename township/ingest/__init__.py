"""The county-scale ingest: the township listener writing PostgreSQL (`PgEventStore`).

`township listen --database-url postgresql://...` (or `kiosk township listen ...`) uses it; the
tables are the console's migrations (`township migrate`).  Partitions by day (`partitions`),
LISTEN/NOTIFY to the console's live pages, optional group-robot webhook for alerts (`webhook`).
"""

from township.ingest.pgstore import PgEventStore

__all__ = ["PgEventStore"]
