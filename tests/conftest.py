"""Shared fixtures: the real corpora in ../shared/data and small inline documents."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("BIOIE_SHARED_DATA", PROJECT_ROOT.parent / "shared" / "data"))

os.environ.setdefault("KEDRO_DISABLE_TELEMETRY", "1")
os.environ.setdefault("DO_NOT_TRACK", "true")
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
os.environ.setdefault("HF_HUB_OFFLINE", "1")


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The real corpora; tests that need them skip with a reason when they are absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(
            f"real corpora not found at {SHARED_DATA} (set BIOIE_SHARED_DATA or place ../shared/data)"
        )
    return SHARED_DATA
