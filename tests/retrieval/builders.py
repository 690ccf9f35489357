"""Crafted inputs for the retrieval tests."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def unit(*rows: Sequence[float]) -> np.ndarray:
    """Rows scaled to unit length, float32."""
    array = np.asarray(rows, dtype=np.float32)
    return array / np.linalg.norm(array, axis=1, keepdims=True)
