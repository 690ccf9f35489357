"""``DocumentsDataset``: a list of :class:`~bioie_kedro.schema.Document` as one Parquet file."""

from __future__ import annotations

import uuid
from copy import deepcopy
from pathlib import PurePosixPath
from typing import Any

import fsspec
import pyarrow.parquet as pq
from kedro.io.core import (
    AbstractVersionedDataset,
    DatasetError,
    Version,
    get_filepath_str,
    get_protocol_and_path,
)

from bioie_kedro.schema import (
    Document,
    documents_from_table,
    documents_to_table,
    validate_documents,
)


class DocumentsDataset(AbstractVersionedDataset[list[Document], list[Document]]):
    """Documents stored loss-free as Parquet with nested columns (:data:`schema.ARROW_SCHEMA`).

    Saving writes to a temporary file next to the target and renames it, so a failed save never
    leaves a half-written file behind. Documents are validated on save (and on load when
    ``load_args: {validate: true}``).

    Example catalog entry::

        documents:
          type: bioie_kedro.datasets.DocumentsDataset
          filepath: data/03_primary/documents.parquet
    """

    def __init__(
        self,
        *,
        filepath: str,
        load_args: dict[str, Any] | None = None,
        save_args: dict[str, Any] | None = None,
        version: Version | None = None,
        credentials: dict[str, Any] | None = None,
        fs_args: dict[str, Any] | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> None:
        protocol, path = get_protocol_and_path(filepath, version)
        fs_args = deepcopy(fs_args) or {}
        if protocol == "file":
            fs_args.setdefault("auto_mkdir", True)
        self._protocol = protocol
        self._fs = fsspec.filesystem(protocol, **(credentials or {}), **fs_args)
        self._load_args = {"validate": False, **(load_args or {})}
        self._save_args = {"compression": "zstd", "validate": True, **(save_args or {})}
        self.metadata = metadata
        super().__init__(
            filepath=PurePosixPath(path),
            version=version,
            exists_function=self._fs.exists,
            glob_function=self._fs.glob,
        )

    def load(self) -> list[Document]:
        load_path = get_filepath_str(self._get_load_path(), self._protocol)
        try:
            with self._fs.open(load_path, "rb") as handle:
                table = pq.read_table(handle)
            docs = documents_from_table(table)
        except (OSError, ValueError) as exc:
            raise DatasetError(f"cannot read documents from {load_path}: {exc}") from exc
        if self._load_args["validate"]:
            validate_documents(docs)
        return docs

    def save(self, data: list[Document]) -> None:
        if not isinstance(data, list | tuple) or not all(isinstance(d, Document) for d in data):
            raise DatasetError(
                f"{type(self).__name__} saves a list of bioie_kedro.schema.Document, got {type(data).__name__}"
            )
        save_args = dict(self._save_args)
        if save_args.pop("validate"):
            validate_documents(data)
        table = documents_to_table(data)
        save_path = get_filepath_str(self._get_save_path(), self._protocol)
        partial = f"{save_path}.partial-{uuid.uuid4().hex[:8]}"
        try:
            with self._fs.open(partial, "wb") as handle:
                pq.write_table(table, handle, **save_args)
            self._fs.mv(partial, save_path)
        finally:
            if self._fs.exists(partial):
                self._fs.rm(partial)
        self._invalidate_cache()

    def _exists(self) -> bool:
        try:
            load_path = get_filepath_str(self._get_load_path(), self._protocol)
        except DatasetError:
            return False
        return self._fs.exists(load_path)

    def _describe(self) -> dict[str, Any]:
        return {
            "filepath": self._filepath,
            "protocol": self._protocol,
            "load_args": self._load_args,
            "save_args": self._save_args,
            "version": self._version,
        }

    def _release(self) -> None:
        super()._release()
        self._invalidate_cache()

    def _invalidate_cache(self) -> None:
        filepath = get_filepath_str(self._filepath, self._protocol)
        self._fs.invalidate_cache(filepath)
