"""A throwaway PostgreSQL cluster per test session (per xdist worker), migrated once; a fresh
database per test copied from that template (CREATE DATABASE ... TEMPLATE: ~50 ms).

`console_db`: a database for one test module with Django set up on it in this process (Django's
settings are per process: each module that uses it points the one connection at its own database).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest

from township.devdb import Cluster, migrate

SECRET = "test-secret-" + "x" * 40


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[Cluster]:
    cluster = Cluster(fsync=False).start()
    try:
        migrate(cluster.create_database("township_template"))
        yield cluster
    finally:
        cluster.stop()


def _name(prefix: str) -> str:
    return f"{prefix}_{os.environ.get('PYTEST_XDIST_WORKER', 'w')}_{uuid.uuid4().hex[:10]}"


@pytest.fixture
def pg_dsn(pg_cluster: Cluster) -> str:
    """A migrated, empty database of its own for one test."""
    return pg_cluster.create_database(_name("t"), template="township_template")


def use_django(dsn: str) -> None:
    """Set Django up in this process (once) and point its connection at `dsn`."""
    os.environ["TOWNSHIP_DATABASE_URL"] = dsn
    os.environ["DJANGO_SETTINGS_MODULE"] = "township.console.settings"
    os.environ.setdefault("TOWNSHIP_SECRET_KEY", SECRET)
    os.environ.setdefault("TOWNSHIP_TIME_ZONE", "Asia/Shanghai")
    import django
    from django.conf import settings
    from django.db import connections

    django.setup()
    if "testserver" not in settings.ALLOWED_HOSTS:
        settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    connections.close_all()
    settings.DATABASES["default"].update(__import__("township.console.settings", fromlist=["database"])
                                         .database(dsn))


@pytest.fixture(scope="module")
def console_db(pg_cluster: Cluster) -> Iterator[str]:
    """A database for this module, Django set up on it in this process."""
    dsn = pg_cluster.create_database(_name("m"), template="township_template")
    use_django(dsn)
    yield dsn
    from django.db import connections

    connections.close_all()
