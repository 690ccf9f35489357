"""``FaissIndexDataset``: a :class:`~bioie_kedro.retrieval.index.VectorIndex` as a versioned directory."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bioie_kedro.datasets.directory import DirectoryArtifactDataset
from bioie_kedro.retrieval.index import METADATA_FILE, VectorIndex


class FaissIndexDataset(DirectoryArtifactDataset[VectorIndex]):
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

    MARKER = METADATA_FILE
    DESCRIPTION = "vector index"
    ARTIFACT = VectorIndex
    DEFAULT_LOAD_ARGS = {"mmap": False}

    def _read(self, directory: Path, **load_args: Any) -> VectorIndex:
        return VectorIndex.load(directory, **load_args)

    def _write(self, data: VectorIndex, directory: Path) -> None:
        data.save(directory)
