"""``FaissIndexDataset``: a :class:`~bioie_kedro.retrieval.index.VectorIndex` as a versioned directory."""

from __future__ import annotations

import shutil
import uuid
from pathlib import Path, PurePosixPath
from typing import Any

from kedro.io.core import AbstractVersionedDataset, DatasetError, Version

from bioie_kedro.retrieval.index import METADATA_FILE, VectorIndex


def _is_index_directory(path: str) -> bool:
    # a module-level function, not a lambda: the dataset stays picklable
    return (Path(path) / METADATA_FILE).is_file()


class FaissIndexDataset(AbstractVersionedDataset[VectorIndex, VectorIndex]):
    """A FAISS index with its id map and embedder settings, never pickled: ``index.faiss``
    (``faiss.write_index``), ``ids.json`` and the marker ``bioie_vector_index.json`` (kind,
    dimension, index and embedder settings, metadata).

    The directory is written under a temporary name and renamed, so a failed save leaves nothing
    half-written; loading checks for the marker file first. ``load_args: {mmap: true}`` maps the
    index file instead of reading it. In a notebook::

        index = catalog.load("retrieval_index")
        index.search_texts(["Cisplatin nephrotoxicity in children"], k=5)

    Example catalog entry::

        retrieval_index:
          type: bioie_kedro.datasets.FaissIndexDataset
          path: data/06_models/retrieval/index
          versioned: true
    """

    def __init__(
        self,
        *,
        path: str,
        version: Version | None = None,
        load_args: dict[str, Any] | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> None:
        self._load_args = {"mmap": False, **(load_args or {})}
        self.metadata = metadata
        super().__init__(
            filepath=PurePosixPath(path),
            version=version,
            exists_function=_is_index_directory,
        )

    def load(self) -> VectorIndex:
        directory = Path(str(self._get_load_path()))
        if not (directory / METADATA_FILE).is_file():
            raise DatasetError(f"{directory} holds no vector index ({METADATA_FILE} is missing)")
        try:
            return VectorIndex.load(directory, **self._load_args)
        except (OSError, ValueError, RuntimeError) as exc:
            raise DatasetError(f"cannot read the vector index in {directory}: {exc}") from exc

    def save(self, data: VectorIndex) -> None:
        if not isinstance(data, VectorIndex):
            raise DatasetError(
                f"{type(self).__name__} saves a bioie_kedro.retrieval.VectorIndex, "
                f"got {type(data).__name__}"
            )
        target = Path(str(self._get_save_path()))
        partial = target.with_name(f"{target.name}.partial-{uuid.uuid4().hex[:8]}")
        try:
            data.save(partial)
            if target.exists():
                shutil.rmtree(target)
            target.parent.mkdir(parents=True, exist_ok=True)
            partial.rename(target)
        finally:
            if partial.exists():
                shutil.rmtree(partial)

    def _exists(self) -> bool:
        try:
            return (Path(str(self._get_load_path())) / METADATA_FILE).is_file()
        except DatasetError:
            return False

    def _describe(self) -> dict[str, Any]:
        return {"path": str(self._filepath), "version": self._version, "load_args": self._load_args}
