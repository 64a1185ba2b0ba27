"""Fixtures for every test package: real brokers (`tests.mosquitto`: `broker`, `make_broker`, `subscribe`)."""

pytest_plugins = ["tests.mosquitto"]
