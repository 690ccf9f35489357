"""``TokenClassifierDataset``: a fine-tuned token classifier as a versioned directory (safetensors)."""

from __future__ import annotations

import shutil
import uuid
from pathlib import Path, PurePosixPath
from typing import Any

from kedro.io.core import AbstractVersionedDataset, DatasetError, Version

from bioie_kedro.token_classification import METADATA_FILE, TokenClassifier


def _is_dir(path: str) -> bool:
    # a module-level function keeps the dataset picklable (ParallelRunner)
    return Path(path).is_dir()


class TokenClassifierDataset(AbstractVersionedDataset[TokenClassifier, TokenClassifier]):
    """Saves with ``save_pretrained`` (``model.safetensors``, ``config.json`` with the label map,
    tokenizer files) plus the training settings in ``bioie_token_classifier.json``; never pickled.

    The directory is written under a temporary name and renamed, so a failed save leaves nothing
    half-written. Loading checks for the marker file first.

    Example catalog entry::

        encoder_ner_model:
          type: bioie_kedro.datasets.TokenClassifierDataset
          path: data/06_models/encoder_ner/model
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
        self._load_args = dict(load_args or {})
        self.metadata = metadata
        super().__init__(
            filepath=PurePosixPath(path),
            version=version,
            exists_function=lambda p: Path(p).is_dir(),
        )

    def load(self) -> TokenClassifier:
        directory = Path(str(self._get_load_path()))
        if not (directory / METADATA_FILE).is_file():
            raise DatasetError(
                f"{directory} holds no token classifier ({METADATA_FILE} is missing)"
            )
        return TokenClassifier.load(directory, **self._load_args)

    def save(self, data: TokenClassifier) -> None:
        if not isinstance(data, TokenClassifier):
            raise DatasetError(
                f"{type(self).__name__} saves a TokenClassifier, got {type(data).__name__}"
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
