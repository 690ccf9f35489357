"""``CorpusCollectionDataset``: the raw corpora of an environment, read with the project's readers."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from kedro.io.core import AbstractDataset, DatasetError

from bioie_kedro.corpora import FORMATS, CorpusFormatError, ReadResult, read_corpus

logger = logging.getLogger(__name__)

#: Formats whose locations are not file paths (hub names), so they are not joined to ``root``.
_PATHLESS_FORMATS = {"bigbio_hub"}


class CorpusCollectionDataset(AbstractDataset[None, dict[str, dict[str, ReadResult]]]):
    """Read-only: loads every split of every configured corpus as a :class:`ReadResult`.

    Example catalog entry (``conf/benchmark/catalog.yml``)::

        raw_corpora:
          type: bioie_kedro.datasets.CorpusCollectionDataset
          root: ${oc.env:BIOIE_CORPORA,data/01_raw/corpora}
          corpora:
            ncbi_disease:
              format: pubtator
              splits:
                train: ncbi_disease/NCBItrainset_corpus.txt
                dev: ncbi_disease/NCBIdevelopset_corpus.txt
                test: ncbi_disease/NCBItestset_corpus.txt
            chemprot:
              format: chemprot
              splits: {train: chemprot/chemprot_training}
              options: {}          # keyword arguments of the reader

    Loading returns ``{corpus: {split: ReadResult}}``; malformed input raises a
    :class:`DatasetError` whose message names the corpus, split, file and line or record.
    """

    def __init__(
        self,
        *,
        corpora: Mapping[str, Mapping[str, Any]],
        root: str | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> None:
        self._root = Path(root) if root else None
        self._corpora = {name: dict(spec) for name, spec in corpora.items()}
        self.metadata = metadata
        for name, spec in self._corpora.items():
            if spec.get("format") not in FORMATS:
                raise DatasetError(
                    f"corpus {name!r}: format {spec.get('format')!r} is not one of {sorted(FORMATS)}"
                )
            if not spec.get("splits"):
                raise DatasetError(f"corpus {name!r}: no splits configured")

    def _location(self, format_name: str, location: Any) -> Any:
        if format_name in _PATHLESS_FORMATS:
            return location
        if isinstance(location, Mapping):
            return {key: self._location(format_name, value) for key, value in location.items()}
        path = Path(location)
        if self._root is not None and not path.is_absolute():
            path = self._root / path
        return path

    def load(self) -> dict[str, dict[str, ReadResult]]:
        if self._root is not None and not self._root.is_dir():
            raise DatasetError(
                f"corpus directory {self._root} does not exist; set BIOIE_CORPORA to a directory laid "
                "out like ../shared/data (see conf/benchmark/README.md)"
            )
        collection: dict[str, dict[str, ReadResult]] = {}
        for name, spec in self._corpora.items():
            collection[name] = {}
            for split, location in spec["splits"].items():
                where = self._location(spec["format"], location)
                try:
                    result = read_corpus(
                        spec["format"], where, source=name, split=split, **spec.get("options", {})
                    )
                except CorpusFormatError as exc:
                    raise DatasetError(f"corpus {name!r}, split {split!r}: {exc}") from exc
                logger.info(
                    "Read %s/%s: %d documents, %d skipped records",
                    name,
                    split,
                    len(result.documents),
                    len(result.skipped),
                )
                collection[name][split] = result
        return collection

    def save(self, data: Any) -> None:
        raise DatasetError(f"{type(self).__name__} is read-only: it reads the configured corpora")

    def _exists(self) -> bool:
        return self._root is None or self._root.is_dir()

    def _describe(self) -> dict[str, Any]:
        return {
            "root": str(self._root) if self._root else None,
            "corpora": {name: spec["format"] for name, spec in self._corpora.items()},
        }
