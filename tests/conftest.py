"""Shared fixtures: every test runs against throw-away instances, never ~/.registry."""

from __future__ import annotations

import os

import pytest

# Set before registry is imported anywhere, so no test can touch the user's default instance.
os.environ.setdefault("REGISTRY_USER", "testuser")


@pytest.fixture(autouse=True, scope="session")
def _isolated_default_instance(tmp_path_factory):
    os.environ["REGISTRY_DIR"] = str(tmp_path_factory.mktemp("default") / "instance")
    yield


@pytest.fixture
def instance(tmp_path):
    """A fresh instance in tmp_path, made the default for the test."""
    import registry as ln

    return ln.init(tmp_path / "instance")
