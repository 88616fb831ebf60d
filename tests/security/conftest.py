"""The attack tests through the API use the API tests' app and world (`tests/api/conftest.py`)."""

from tests.api.conftest import client, world

__all__ = ["client", "world"]
