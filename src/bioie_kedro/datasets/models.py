"""``TokenClassifierDataset``: a fine-tuned token classifier as a versioned directory (safetensors)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bioie_kedro.datasets.directory import DirectoryArtifactDataset
from bioie_kedro.token_classification import METADATA_FILE, TokenClassifier


class TokenClassifierDataset(DirectoryArtifactDataset[TokenClassifier]):
    """Saves with ``save_pretrained`` (``model.safetensors``, ``config.json`` with the label map,
    tokenizer files) plus the training settings in ``bioie_token_classifier.json``; never pickled.
    Written atomically; loading checks for the marker file first.

    Example catalog entry::

        encoder_ner_model:
          type: bioie_kedro.datasets.TokenClassifierDataset
          path: data/06_models/encoder_ner/model
          versioned: true
    """

    MARKER = METADATA_FILE
    DESCRIPTION = "token classifier"
    ARTIFACT = TokenClassifier

    def _read(self, directory: Path, **load_args: Any) -> TokenClassifier:
        return TokenClassifier.load(directory, **load_args)

    def _write(self, data: TokenClassifier, directory: Path) -> None:
        data.save(directory)
