"""``DatasetDictDataset``: a Hugging Face ``datasets.DatasetDict`` as a versioned directory.

Written with ``DatasetDict.save_to_disk`` (Arrow files plus ``dataset_dict.json``, the marker) and
read with ``datasets.load_from_disk``; written atomically like every directory artifact.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from datasets import DatasetDict, load_from_disk

from bioie_kedro.datasets.directory import DirectoryArtifactDataset


class DatasetDictDataset(DirectoryArtifactDataset[DatasetDict]):
    """Saves a ``DatasetDict`` with ``save_to_disk``; loads it with ``load_from_disk``.

    Example catalog entry::

        synthetic_relation_dataset:
          type: bioie_kedro.datasets.DatasetDictDataset
          path: data/05_model_input/synthetic_labels/relation_dataset
          versioned: true

    ``load_args`` go to ``load_from_disk`` (e.g. ``keep_in_memory: true``).
    """

    MARKER = "dataset_dict.json"
    DESCRIPTION = "Hugging Face DatasetDict"
    ARTIFACT = DatasetDict

    def _artifact_name(self) -> str:
        return "datasets.DatasetDict"

    def _read(self, directory: Path, **load_args: Any) -> DatasetDict:
        data = load_from_disk(str(directory), **load_args)
        if not isinstance(data, DatasetDict):
            raise ValueError(f"{directory} holds a {type(data).__name__}, not a DatasetDict")
        return data

    def _write(self, data: DatasetDict, directory: Path) -> None:
        data.save_to_disk(str(directory))
