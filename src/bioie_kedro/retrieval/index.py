"""A FAISS vector index over unit-length embeddings, with its id map and embedder settings.

Inner product on L2-normalised vectors is cosine similarity. The index kind:

* ``flat`` — ``IndexFlatIP``, exact; the default up to ``exact_max_size`` vectors;
* ``hnsw`` — ``IndexHNSWFlat`` with the inner-product metric, approximate (graph search;
  ``hnsw_m`` links per node, ``hnsw_ef_construction`` at build, ``hnsw_ef_search`` at query time);
* ``ivf`` — ``IndexIVFFlat`` (inner product), approximate (``ivf_nlist`` k-means cells, ``ivf_nprobe``
  visited per query); needs a training pass over the vectors;
* ``auto`` — ``flat`` up to ``exact_max_size`` vectors, ``hnsw`` above.

FAISS labels are positions ``0..n-1``; :attr:`VectorIndex.ids` maps them back to unit ids.
:meth:`VectorIndex.save` writes a directory::

    index.faiss                  faiss.write_index (read it with faiss.read_index too)
    ids.json                     the id of every vector, in label order
    bioie_vector_index.json      marker: kind, dimension, size, index and embedder settings, metadata

and :meth:`VectorIndex.load` refuses a directory without the marker. A saved and reloaded index
returns exactly what the original returned; two HNSW builds of the same vectors may differ slightly
(FAISS inserts in parallel). faiss is imported inside the functions that use it.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np

from bioie_kedro.retrieval.embedders import Embedder, build_embedder

INDEX_FILE = "index.faiss"
IDS_FILE = "ids.json"
METADATA_FILE = "bioie_vector_index.json"
FORMAT_VERSION = 1

IndexKind = Literal["auto", "flat", "hnsw", "ivf"]


@dataclass(frozen=True, slots=True)
class IndexSettings:
    """How to build the index; see the module docstring for each kind."""

    kind: IndexKind = "auto"
    exact_max_size: int = 50_000
    hnsw_m: int = 32
    hnsw_ef_construction: int = 200
    hnsw_ef_search: int = 32
    ivf_nlist: int | None = None
    ivf_nprobe: int = 16

    def resolve_kind(self, size: int) -> str:
        """The concrete kind for a pool of ``size`` vectors."""
        if self.kind == "auto":
            return "flat" if size <= self.exact_max_size else "hnsw"
        if self.kind not in ("flat", "hnsw", "ivf"):
            raise ValueError(f"unknown index kind {self.kind!r} (auto, flat, hnsw or ivf)")
        return self.kind

    def nlist(self, size: int) -> int:
        """IVF cells: ``ivf_nlist`` or ``4 * sqrt(size)``, at most ``size // 39`` (FAISS wants
        about 39 training points per cell), at least 1."""
        wanted = self.ivf_nlist or int(4 * math.sqrt(size))
        return max(1, min(wanted, size // 39))


def _as_vectors(vectors: np.ndarray, dimension: int | None = None) -> np.ndarray:
    array = np.ascontiguousarray(vectors, dtype=np.float32)
    if array.ndim == 1:
        array = array[None, :]
    if array.ndim != 2:
        raise ValueError(f"expected vectors of shape (n, dimension), got {array.shape}")
    if dimension is not None and array.shape[1] != dimension:
        raise ValueError(f"vectors have dimension {array.shape[1]}, the index has {dimension}")
    return array


class VectorIndex:
    """A FAISS index, the id of each vector, and the embedder settings that made the vectors.

    Build with :meth:`build`; search with :meth:`search` (vectors) or :meth:`search_texts`
    (embeds the texts with the index's own embedder first).
    """

    def __init__(
        self,
        index: Any,
        ids: Sequence[str],
        *,
        kind: str,
        settings: IndexSettings | None = None,
        embedder_settings: Mapping[str, Any] | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> None:
        if index.ntotal != len(ids):
            raise ValueError(f"the index holds {index.ntotal} vectors but {len(ids)} ids")
        self.index = index
        self.ids = list(ids)
        self.kind = kind
        self.settings = settings or IndexSettings()
        self.embedder_settings = dict(embedder_settings or {})
        self.metadata = dict(metadata or {})
        self._positions = {unit_id: position for position, unit_id in enumerate(self.ids)}
        if len(self._positions) != len(self.ids):
            raise ValueError("ids must be unique")
        self._embedder: Embedder | None = None
        self._direct_map = False
        self._apply_search_settings()

    # ---- construction ----------------------------------------------------------------------

    @classmethod
    def build(
        cls,
        vectors: np.ndarray,
        ids: Sequence[str],
        *,
        settings: IndexSettings | None = None,
        embedder_settings: Mapping[str, Any] | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> VectorIndex:
        """Index ``vectors`` (unit length, one row per id) with the kind ``settings`` choose."""
        import faiss

        settings = settings or IndexSettings()
        vectors = _as_vectors(vectors)
        if len(vectors) != len(ids):
            raise ValueError(f"{len(vectors)} vectors but {len(ids)} ids")
        if len(vectors) == 0:
            raise ValueError("cannot index an empty pool")
        size, dimension = vectors.shape
        kind = settings.resolve_kind(size)
        if kind == "flat":
            index = faiss.IndexFlatIP(dimension)
        elif kind == "hnsw":
            index = faiss.IndexHNSWFlat(dimension, settings.hnsw_m, faiss.METRIC_INNER_PRODUCT)
            index.hnsw.efConstruction = settings.hnsw_ef_construction
        else:
            quantizer = faiss.IndexFlatIP(dimension)
            index = faiss.IndexIVFFlat(
                quantizer, dimension, settings.nlist(size), faiss.METRIC_INNER_PRODUCT
            )
            index.train(vectors)
        index.add(vectors)
        return cls(
            index,
            ids,
            kind=kind,
            settings=settings,
            embedder_settings=embedder_settings,
            metadata=metadata,
        )

    def _apply_search_settings(self) -> None:
        if self.kind == "hnsw":
            self.index.hnsw.efSearch = self.settings.hnsw_ef_search
        elif self.kind == "ivf":
            self.index.nprobe = self.settings.ivf_nprobe

    # ---- properties ------------------------------------------------------------------------

    def __len__(self) -> int:
        return self.index.ntotal

    @property
    def dimension(self) -> int:
        return self.index.d

    @property
    def exact(self) -> bool:
        return self.kind == "flat"

    def position(self, unit_id: str) -> int:
        """The FAISS label of ``unit_id``."""
        return self._positions[unit_id]

    def __repr__(self) -> str:
        return (
            f"VectorIndex(kind={self.kind!r}, size={len(self)}, dimension={self.dimension}, "
            f"embedder={self.embedder_settings.get('kind')!r})"
        )

    # ---- search ----------------------------------------------------------------------------

    def search(self, vectors: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """The ``k`` most similar vectors for each query row.

        Returns:
            ``(scores, positions)``, both of shape ``(queries, k')`` with ``k' = min(k, size)``,
            best first; scores are inner products (cosine for unit vectors). An approximate index
            may find fewer than ``k'``: the missing slots have position ``-1`` and score ``-inf``.
        """
        vectors = _as_vectors(vectors, self.dimension)
        k = min(k, len(self))
        if k <= 0 or len(vectors) == 0:
            return (
                np.zeros((len(vectors), 0), dtype=np.float32),
                np.zeros((len(vectors), 0), dtype=np.int64),
            )
        scores, positions = self.index.search(vectors, k)
        scores = scores.astype(np.float32, copy=False)
        scores[positions < 0] = -np.inf
        return scores, positions.astype(np.int64, copy=False)

    def search_ids(self, vectors: np.ndarray, k: int) -> list[list[tuple[str, float]]]:
        """:meth:`search` with ids: per query, ``[(id, score), ...]`` best first."""
        scores, positions = self.search(vectors, k)
        return [
            [(self.ids[p], float(s)) for s, p in zip(row_s, row_p, strict=True) if p >= 0]
            for row_s, row_p in zip(scores, positions, strict=True)
        ]

    def embedder(self) -> Embedder:
        """The embedder that made the indexed vectors, rebuilt from its settings (cached)."""
        if self._embedder is None:
            if not self.embedder_settings:
                raise ValueError("this index records no embedder settings; embed queries yourself")
            self._embedder = build_embedder(self.embedder_settings)
        return self._embedder

    def search_texts(
        self, texts: Sequence[str], k: int, *, batch_size: int = 64
    ) -> list[list[tuple[str, float]]]:
        """Embed ``texts`` with :meth:`embedder` and search: per text, ``[(id, score), ...]``."""
        return self.search_ids(self.embedder().encode(list(texts), batch_size=batch_size), k)

    def vectors(self, positions: Sequence[int] | np.ndarray | None = None) -> np.ndarray:
        """The stored vectors at ``positions`` (all when ``None``), reconstructed from the index."""
        if self.kind == "ivf" and not self._direct_map:
            self.index.make_direct_map()
            self._direct_map = True
        if positions is None:
            return self.index.reconstruct_n(0, len(self))
        positions = np.asarray(positions, dtype=np.int64)
        if len(positions) == 0:
            return np.zeros((0, self.dimension), dtype=np.float32)
        return self.index.reconstruct_batch(positions)

    # ---- persistence -----------------------------------------------------------------------

    def describe(self) -> dict[str, Any]:
        """The marker file's content."""
        import faiss

        return {
            "format_version": FORMAT_VERSION,
            "kind": self.kind,
            "size": len(self),
            "dimension": self.dimension,
            "metric": "inner_product",
            "index_settings": asdict(self.settings),
            "embedder": self.embedder_settings,
            "metadata": self.metadata,
            "faiss_version": faiss.__version__,
        }

    def save(self, directory: str | Path) -> None:
        """Write ``index.faiss`` (FAISS's own writer), ``ids.json`` and the marker file."""
        import faiss

        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        faiss.write_index(self.index, str(directory / INDEX_FILE))
        (directory / IDS_FILE).write_text(json.dumps(self.ids, ensure_ascii=False), "utf-8")
        # the marker last: a directory with the marker is complete
        (directory / METADATA_FILE).write_text(
            json.dumps(self.describe(), indent=2, ensure_ascii=False), "utf-8"
        )

    @classmethod
    def load(cls, directory: str | Path, *, mmap: bool = False) -> VectorIndex:
        """Read a directory written by :meth:`save`; ``mmap`` maps the index file instead of
        reading it into memory.

        Raises:
            FileNotFoundError: when the marker file is missing (not an index directory, or an
                interrupted save).
        """
        import faiss

        directory = Path(directory)
        marker = directory / METADATA_FILE
        if not marker.is_file():
            raise FileNotFoundError(
                f"{directory} holds no vector index ({METADATA_FILE} is missing)"
            )
        meta = json.loads(marker.read_text("utf-8"))
        if meta.get("format_version") != FORMAT_VERSION:
            raise ValueError(f"{marker}: unsupported format_version {meta.get('format_version')!r}")
        flags = faiss.IO_FLAG_MMAP | faiss.IO_FLAG_READ_ONLY if mmap else 0
        index = faiss.read_index(str(directory / INDEX_FILE), flags)
        ids = json.loads((directory / IDS_FILE).read_text("utf-8"))
        return cls(
            index,
            ids,
            kind=meta["kind"],
            settings=IndexSettings(**meta["index_settings"]),
            embedder_settings=meta["embedder"],
            metadata=meta["metadata"],
        )
