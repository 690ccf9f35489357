"""``RelationClassifierDataset``: a fine-tuned relation classifier, or an ensemble of them, as a
versioned directory."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bioie_kedro.datasets.directory import DirectoryArtifactDataset
from bioie_kedro.relation_extraction.classifier import (
    ENSEMBLE_FILE,
    METADATA_FILE,
    RelationClassifier,
    RelationClassifierEnsemble,
)


class RelationClassifierDataset(
    DirectoryArtifactDataset[RelationClassifier | RelationClassifierEnsemble]
):
    """The synthetic-labels student (or any relation classifier of the project): saved with
    ``save_pretrained`` (``model.safetensors``, ``config.json`` with the label map, the tokenizer
    with the entity markers) plus ``bioie_relation_classifier.json`` (labels, settings, training
    log); never pickled. A :class:`RelationClassifierEnsemble` (``student.ensemble_seeds``) is
    saved as one such directory per member plus ``bioie_relation_ensemble.json``, and loads as an
    ensemble again. Written atomically; loading checks for the marker file first.

    Example catalog entry::

        relation_student_model:
          type: bioie_kedro.datasets.RelationClassifierDataset
          path: data/06_models/synthetic_labels/student
          versioned: true
    """

    MARKER = METADATA_FILE
    OTHER_MARKERS = (ENSEMBLE_FILE,)
    DESCRIPTION = "relation classifier"
    ARTIFACT = RelationClassifier
    OTHER_ARTIFACTS = (RelationClassifierEnsemble,)

    def _read(
        self, directory: Path, **load_args: Any
    ) -> RelationClassifier | RelationClassifierEnsemble:
        if (directory / ENSEMBLE_FILE).is_file():
            return RelationClassifierEnsemble.load(directory, **load_args)
        return RelationClassifier.load(directory, **load_args)

    def _write(
        self, data: RelationClassifier | RelationClassifierEnsemble, directory: Path
    ) -> None:
        data.save(directory)
