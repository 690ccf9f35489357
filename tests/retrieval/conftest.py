"""Fixtures of the retrieval tests: a tiny random BERT (offline, built in a second)."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def tiny_bert(tmp_path_factory) -> Path:
    """A 2-layer, 32-wide BERT sequence classifier (one logit) with the bundled MiniLM's
    tokenizer; ``AutoModel`` loads its encoder, ``AutoModelForSequenceClassification`` all of it.
    512 position embeddings, so an untruncated long pair would fail."""
    import torch
    from transformers import AutoTokenizer, BertConfig, BertForSequenceClassification

    from bioie_kedro.token_classification import BUNDLED_MINILM, resolve_model_name

    directory = tmp_path_factory.mktemp("tiny_bert")
    tokenizer = AutoTokenizer.from_pretrained(resolve_model_name(BUNDLED_MINILM))
    config = BertConfig(
        vocab_size=tokenizer.vocab_size,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=512,
        num_labels=1,
    )
    torch.manual_seed(0)
    BertForSequenceClassification(config).save_pretrained(directory)
    tokenizer.save_pretrained(directory)
    return directory
