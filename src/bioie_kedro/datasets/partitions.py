"""Reading document partitions (``<corpus>/<split>``) the same way in every pipeline.

A ``PartitionedDataset`` loads lazily: each partition is a function that loads it; within a run
or in tests a partition may also be the list of documents itself. :func:`load_partition` takes both.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from bioie_kedro.schema import Document

#: ``{"<corpus>/<split>": documents or a function that loads them}``
Partitions = Mapping[str, list[Document] | Callable[[], list[Document]]]


def partition_key(source: str, split: str) -> str:
    """Partition name of one corpus split: ``"<corpus>/<split>"``."""
    return f"{source}/{split}"


def load_partition(partitions: Partitions, key: str, *, name: str = "documents") -> list[Document]:
    """The documents of partition ``key``.

    Raises:
        KeyError: naming the partition, the dataset and the partitions it does have.
    """
    if key not in partitions:
        available = ", ".join(sorted(partitions)) or "none"
        raise KeyError(f"{name} has no partition {key!r} (available: {available})")
    value = partitions[key]
    return value() if callable(value) else value
