"""``RelationClassifierDataset``: a fine-tuned relation classifier as a versioned directory."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bioie_kedro.datasets.directory import DirectoryArtifactDataset
from bioie_kedro.relation_extraction.classifier import METADATA_FILE, RelationClassifier


class RelationClassifierDataset(DirectoryArtifactDataset[RelationClassifier]):
    """The synthetic-labels student (or any relation classifier of the project): saved with
    ``save_pretrained`` (``model.safetensors``, ``config.json`` with the label map, the tokenizer
    with the entity markers) plus ``bioie_relation_classifier.json`` (labels, settings, training
    log); never pickled. Written atomically; loading checks for the marker file first.

    Example catalog entry::

        relation_student_model:
          type: bioie_kedro.datasets.RelationClassifierDataset
          path: data/06_models/synthetic_labels/student
          versioned: true
    """

    MARKER = METADATA_FILE
    DESCRIPTION = "relation classifier"
    ARTIFACT = RelationClassifier

    def _read(self, directory: Path, **load_args: Any) -> RelationClassifier:
        return RelationClassifier.load(directory, **load_args)

    def _write(self, data: RelationClassifier, directory: Path) -> None:
        data.save(directory)
