"""The attack tests reuse the API fixtures: an app on the test database and a world of accounts."""

from tests.api.conftest import client, world

__all__ = ["client", "world"]
