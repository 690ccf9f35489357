"""Tiny tokenizer, causal LM and preference pairs for the DPOP tests (CPU, seconds)."""

from __future__ import annotations

import pytest

PAIRS = [
    {
        "prompt": "Extract diseases : aspirin causes headache . Output :",
        "chosen": " [ headache ]",
        "rejected": " [ aspirin ]",
    },
    {
        "prompt": "Extract diseases : breast cancer after tamoxifen . Output :",
        "chosen": " [ breast cancer ]",
        "rejected": " [ cancer ]",
    },
    {
        "prompt": "Extract diseases : lung cancer and fever . Output :",
        "chosen": " [ lung cancer , fever ]",
        "rejected": " [ lung cancer ]",
    },
    {
        "prompt": "Extract diseases : cisplatin causes nephrotoxicity . Output :",
        "chosen": " [ nephrotoxicity ]",
        "rejected": " [ cisplatin , nephrotoxicity ]",
    },
]


@pytest.fixture(scope="session")
def tiny_tokenizer():
    """A word-level tokenizer over the pairs' words, with <pad> and </s>."""
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    backend = Tokenizer(models.WordLevel(unk_token="<unk>"))
    backend.pre_tokenizer = pre_tokenizers.Whitespace()
    texts = [pair[column] for pair in PAIRS for column in ("prompt", "chosen", "rejected")]
    backend.train_from_iterator(
        texts, trainers.WordLevelTrainer(special_tokens=["<pad>", "<unk>", "</s>"])
    )
    return PreTrainedTokenizerFast(
        tokenizer_object=backend, pad_token="<pad>", eos_token="</s>", unk_token="<unk>"
    )


@pytest.fixture
def make_tiny_model(tiny_tokenizer):
    """Build a seeded random Llama (hidden 32, 2 layers) for the tiny tokenizer."""

    def make(seed: int = 0):
        import torch
        from transformers import LlamaConfig, LlamaForCausalLM

        torch.manual_seed(seed)
        config = LlamaConfig(
            vocab_size=len(tiny_tokenizer),
            hidden_size=32,
            intermediate_size=64,
            num_hidden_layers=2,
            num_attention_heads=4,
            num_key_value_heads=2,
            max_position_embeddings=64,
            pad_token_id=tiny_tokenizer.pad_token_id,
            eos_token_id=tiny_tokenizer.eos_token_id,
            bos_token_id=None,
        )
        return LlamaForCausalLM(config)

    return make


@pytest.fixture
def preference_dataset():
    from datasets import Dataset

    return Dataset.from_list(PAIRS)


@pytest.fixture
def cpu_args(tmp_path):
    """Trainer settings for a CPU run of a few steps: ``cpu_args(config_class, **overrides)``."""

    def make(config_class, **overrides):
        settings = {
            "output_dir": str(tmp_path / "out"),
            "use_cpu": True,
            "bf16": False,
            "report_to": "none",
            "per_device_train_batch_size": 2,
            "max_steps": 2,
            "learning_rate": 1e-2,
            "logging_steps": 1,
            "save_strategy": "no",
            "activation_checkpointing": False,  # transformers 5 name of gradient_checkpointing
            "disable_tqdm": True,
            "max_length": 64,
            "beta": 0.4,
            "seed": 0,
        }
        settings.update(overrides)
        return config_class(**settings)

    return make
