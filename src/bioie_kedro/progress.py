"""Progress bars that show on a terminal and stay quiet in logs, CI and notebooks' captured output.

:func:`progress` wraps an iterable in a ``tqdm`` bar only when standard error is a terminal
(``BIOIE_PROGRESS=1`` forces it on, ``0`` off); :func:`interactive` gives the same decision for
libraries that take a flag (the Hugging Face Trainer's ``disable_tqdm``).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable, Iterator
from typing import TypeVar

Item = TypeVar("Item")


def interactive() -> bool:
    """True when progress bars should be drawn: a terminal, unless ``BIOIE_PROGRESS`` says."""
    forced = os.environ.get("BIOIE_PROGRESS")
    if forced is not None:
        return forced not in ("0", "false", "False", "")
    return sys.stderr.isatty()


def progress(
    iterable: Iterable[Item], *, desc: str, total: int | None = None, unit: str = "it"
) -> Iterator[Item]:
    """``iterable`` with a progress bar on a terminal, unchanged elsewhere."""
    if not interactive():
        yield from iterable
        return
    from tqdm.auto import tqdm

    yield from tqdm(iterable, desc=desc, total=total, unit=unit, leave=False)
