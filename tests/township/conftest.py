"""A throwaway PostgreSQL cluster per test session (per xdist worker), migrated once; a fresh
database per test copied from that template (CREATE DATABASE ... TEMPLATE: ~50 ms)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest

from township.devdb import Cluster, migrate


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[Cluster]:
    cluster = Cluster(fsync=False).start()
    try:
        migrate(cluster.create_database("township_template"))
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture
def pg_dsn(pg_cluster: Cluster) -> str:
    """A migrated, empty database of its own for one test."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "w")
    return pg_cluster.create_database(f"t_{worker}_{uuid.uuid4().hex[:10]}", template="township_template")
