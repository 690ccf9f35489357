"""Model datasets: a fine-tuned token classifier and a causal LM, each a versioned directory."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bioie_kedro.datasets.directory import DirectoryArtifactDataset
from bioie_kedro.decoders.build import METADATA_FILE as DECODER_METADATA_FILE
from bioie_kedro.decoders.build import CausalLM
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


class CausalLMDataset(DirectoryArtifactDataset[CausalLM]):
    """A causal LM (decoder) with its tokenizer and chat template as a versioned directory.

    Saved with ``save_pretrained`` (``model.safetensors`` or, for LoRA/QLoRA runs that keep the
    adapter, ``adapter_model.safetensors`` with the base named in its config) and the tokenizer;
    ``bioie_decoder.json`` marks the directory and records the base model and training log. Never
    pickled. ``load_args`` go to ``from_pretrained`` (e.g. ``trust_remote_code``, off by default).

    Example catalog entry::

        decoder_model:
          type: bioie_kedro.datasets.CausalLMDataset
          path: data/06_models/decoder_sft/model
          versioned: true
    """

    MARKER = DECODER_METADATA_FILE
    DESCRIPTION = "causal LM"
    ARTIFACT = CausalLM

    def _read(self, directory: Path, **load_args: Any) -> CausalLM:
        return CausalLM.load(directory, **load_args)

    def _write(self, data: CausalLM, directory: Path) -> None:
        data.save(directory)
