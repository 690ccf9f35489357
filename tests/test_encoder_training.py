"""The Trainer plumbing shared by the encoder fine-tuners (bioie_kedro.encoder_training)."""

from __future__ import annotations

from dataclasses import dataclass, field
from types import SimpleNamespace

import pytest

pytest.importorskip("transformers")

from bioie_kedro.encoder_training import (  # noqa: E402
    load_encoder_directory,
    selection_training_arguments,
    train_resumable,
)


@dataclass
class _Settings:
    learning_rate: float = 3e-5
    per_device_train_batch_size: int = 4
    per_device_eval_batch_size: int = 8
    num_train_epochs: float = 2
    max_steps: int = -1
    warmup_ratio: float = 0.1
    weight_decay: float = 0.01
    lr_scheduler_type: str = "linear"
    gradient_accumulation_steps: int = 1
    seed: int = 7
    logging_steps: int = 5


@dataclass
class _FakeTrainer:
    """Records what ``train`` was asked; its state looks like a Trainer's after two evaluations."""

    resumed_from: list = field(default_factory=list)
    state: SimpleNamespace = field(
        default_factory=lambda: SimpleNamespace(
            best_metric=0.8,
            best_model_checkpoint="out/checkpoint-20",
            log_history=[
                {"loss": 0.5, "step": 10},
                {"eval_strict_f1": 0.7, "epoch": 1.0},
                {"eval_strict_f1": 0.8, "epoch": 2.0},
                {"eval_other": 0.1},
            ],
        )
    )

    def train(self, resume_from_checkpoint=None):
        self.resumed_from.append(resume_from_checkpoint)
        return SimpleNamespace(global_step=20)


def test_training_arguments_select_on_the_metric_with_matching_checkpoints(tmp_path):
    args = selection_training_arguments(
        _Settings(), output_dir=tmp_path, metric="strict_f1", eval_strategy="steps", eval_steps=7
    )
    assert (args.metric_for_best_model, args.greater_is_better) == ("strict_f1", True)
    assert args.load_best_model_at_end and args.save_total_limit == 2
    # a checkpoint wherever there is an evaluation, so the best one can be restored
    assert args.eval_strategy == args.save_strategy == "steps"
    assert args.eval_steps == args.save_steps == 7
    assert (args.learning_rate, args.seed, args.data_seed) == (3e-5, 7, 7)


def test_settings_with_a_checkpoint_limit_set_it_and_none_keeps_every_checkpoint(tmp_path):
    from bioie_kedro.relation_extraction.classifier import RelationTrainingSettings

    assert RelationTrainingSettings().save_total_limit == 2
    every = selection_training_arguments(
        RelationTrainingSettings(save_total_limit=None), output_dir=tmp_path, metric="m"
    )
    three = selection_training_arguments(
        RelationTrainingSettings(save_total_limit=3), output_dir=tmp_path, metric="m"
    )
    assert every.save_total_limit is None and three.save_total_limit == 3


def test_resume_takes_the_newest_checkpoint_only_when_asked(tmp_path):
    for step in (5, 40, 12):
        (tmp_path / f"checkpoint-{step}").mkdir()
    (tmp_path / "checkpoint-99").write_text("a file, not a checkpoint directory")

    trainer = _FakeTrainer()
    run = train_resumable(trainer, tmp_path, resume=True, metric="strict_f1")
    assert trainer.resumed_from == [str(tmp_path / "checkpoint-40")]
    assert run.resumed_from == str(tmp_path / "checkpoint-40")
    assert run.global_steps == 20 and run.best_metric == 0.8
    assert [e["epoch"] for e in run.evaluations] == [1.0, 2.0]

    fresh = _FakeTrainer()
    assert train_resumable(fresh, tmp_path, resume=False, metric="strict_f1").resumed_from is None
    assert fresh.resumed_from == [None]
    missing = _FakeTrainer()
    train_resumable(missing, tmp_path / "absent", resume=True, metric="strict_f1")
    assert missing.resumed_from == [None]


def test_a_directory_without_the_marker_is_refused(tmp_path):
    with pytest.raises(FileNotFoundError, match="not a bioie-kedro token classifier"):
        load_encoder_directory(
            tmp_path, object, metadata_file="bioie_token_classifier.json", what="token classifier"
        )
