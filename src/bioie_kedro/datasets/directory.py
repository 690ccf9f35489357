"""``DirectoryArtifactDataset``: the shared base of datasets that store an artifact as a directory.

Models and indices are saved with their libraries' own writers (``save_pretrained``, safetensors,
``faiss.write_index``), never pickled. A subclass names the artifact type, the marker file that
proves a directory holds one, and how to write and read it. The directory is written under a
temporary name and renamed, so a failed save leaves nothing half-written; loading checks for the
marker first. Versioned like any Kedro dataset (``versioned: true``).
"""

from __future__ import annotations

import shutil
import uuid
from pathlib import Path, PurePosixPath
from typing import Any, ClassVar, Generic, TypeVar

from kedro.io.core import AbstractVersionedDataset, DatasetError, Version

Artifact = TypeVar("Artifact")


class _HasMarker:
    """Picklable exists-function (a lambda would break ``ParallelRunner``): true when the
    directory holds any of the marker files."""

    def __init__(self, *markers: str) -> None:
        self.markers = markers

    def __call__(self, path: str) -> bool:
        return any((Path(path) / marker).is_file() for marker in self.markers)


class DirectoryArtifactDataset(AbstractVersionedDataset[Artifact, Artifact], Generic[Artifact]):
    """Base class; subclasses set :attr:`MARKER`, :attr:`ARTIFACT` and implement the two hooks.

    A subclass that stores more than one kind of artifact lists the other kinds' marker files in
    :attr:`OTHER_MARKERS` and their types in :attr:`OTHER_ARTIFACTS`; ``_read`` tells them apart.
    """

    MARKER: ClassVar[str]
    ARTIFACT: ClassVar[type]
    OTHER_MARKERS: ClassVar[tuple[str, ...]] = ()
    OTHER_ARTIFACTS: ClassVar[tuple[type, ...]] = ()
    #: how messages name the artifact, e.g. "token classifier"
    DESCRIPTION: ClassVar[str]
    DEFAULT_LOAD_ARGS: ClassVar[dict[str, Any]] = {}

    def __init__(
        self,
        *,
        path: str,
        version: Version | None = None,
        load_args: dict[str, Any] | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> None:
        self._load_args = {**self.DEFAULT_LOAD_ARGS, **(load_args or {})}
        self.metadata = metadata
        super().__init__(
            filepath=PurePosixPath(path),
            version=version,
            exists_function=_HasMarker(*self._markers()),
        )

    @classmethod
    def _markers(cls) -> tuple[str, ...]:
        return (cls.MARKER, *cls.OTHER_MARKERS)

    def _has_marker(self, directory: Path) -> bool:
        return any((directory / marker).is_file() for marker in self._markers())

    def _artifact_name(self) -> str:
        def public(kind: type) -> str:
            # the public import path: bioie_kedro.retrieval.index.VectorIndex -> bioie_kedro.retrieval.VectorIndex
            module = kind.__module__
            package = module.rsplit(".", 1)[0] if module.count(".") > 1 else module
            return f"{package}.{kind.__qualname__}"

        return " or ".join(public(kind) for kind in (self.ARTIFACT, *self.OTHER_ARTIFACTS))

    def _read(self, directory: Path, **load_args: Any) -> Artifact:
        raise NotImplementedError

    def _write(self, data: Artifact, directory: Path) -> None:
        raise NotImplementedError

    def load(self) -> Artifact:
        directory = Path(str(self._get_load_path()))
        if not self._has_marker(directory):
            raise DatasetError(
                f"{directory} holds no {self.DESCRIPTION} ({' or '.join(self._markers())} is "
                "missing)"
            )
        try:
            return self._read(directory, **self._load_args)
        except (OSError, ValueError, RuntimeError) as exc:
            raise DatasetError(f"cannot read the {self.DESCRIPTION} in {directory}: {exc}") from exc

    def save(self, data: Artifact) -> None:
        if not isinstance(data, (self.ARTIFACT, *self.OTHER_ARTIFACTS)):
            raise DatasetError(
                f"{type(self).__name__} saves a {self._artifact_name()}, got {type(data).__name__}"
            )
        target = Path(str(self._get_save_path()))
        partial = target.with_name(f"{target.name}.partial-{uuid.uuid4().hex[:8]}")
        try:
            self._write(data, partial)
            if target.exists():
                shutil.rmtree(target)
            target.parent.mkdir(parents=True, exist_ok=True)
            partial.rename(target)
        finally:
            if partial.exists():
                shutil.rmtree(partial)

    def _exists(self) -> bool:
        try:
            return self._has_marker(Path(str(self._get_load_path())))
        except DatasetError:
            return False

    def _describe(self) -> dict[str, Any]:
        return {"path": str(self._filepath), "version": self._version, "load_args": self._load_args}
