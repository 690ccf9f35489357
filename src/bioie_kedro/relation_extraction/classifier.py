"""The relation student: an encoder sequence classifier over sentences with entity markers.

Training (:func:`train_relation_classifier`) follows seed 003 with its defects fixed:

* the four markers (:data:`~bioie_kedro.relation_extraction.candidates.MARKERS`) are added to the
  tokenizer as special tokens (never split, never lower-cased) and the embeddings resized;
* class-weighted cross-entropy, weights ``n / (k * count(label))`` from the training split
  (``class_weighting="balanced"``);
* model selection on the validation split by the macro-F1 over the positive labels (``none``
  excluded: seed 003 let the dominant ``none`` class decide; ``selection_metric`` may choose the
  positive micro-F1 instead), early stopping, and the best weights restored at the end
  (``load_best_model_at_end``);
* a text longer than ``max_length`` sub-tokens is cut to a window around its markers, never from
  the end (which may drop a marker); windows and any marker still cut off are counted.

Two heads (``pooling``): ``cls``, the encoder's own sequence-classification head on the first
token; ``entity_start``, a linear layer on the concatenated vectors of the ``[E1]`` and ``[E2]``
markers (Baldini Soares et al. 2019, "entity markers – entity start"), the usual choice for
relation classification with entity markers.

The trained :class:`RelationClassifier` is a directory (safetensors weights, ``config.json`` with
the label map, tokenizer with the markers, and :data:`METADATA_FILE`); never pickled. A
:class:`RelationClassifierEnsemble` (:func:`train_relation_ensemble`, one member per training seed,
or ``snapshot_last_checkpoints``, one per checkpoint of a run) is a directory of such directories; :func:`predict_relation_labels` averages its members' label
distributions.
:func:`documents_with_predicted_relations` turns predicted labels back into schema relations.

torch, transformers and datasets are imported inside the functions that need them.
"""

from __future__ import annotations

import functools
import json
import logging
import math
import re
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bioie_kedro.encoder_training import (
    average_checkpoint_weights,
    checkpoints_by_step,
    load_encoder_directory,
    resolve_bf16,
    selection_training_arguments,
    sequential_eval_trainer_class,
    train_resumable,
    without_mixed_precision_wrapper,
)
from bioie_kedro.relation_extraction.candidates import MARKERS
from bioie_kedro.schema import NEGATIVE_RELATION, Document, Relation
from bioie_kedro.token_classification import (
    BUNDLED_MINILM,
    resolve_model_name,
    special_tokens_around,
)

if TYPE_CHECKING:
    from datasets import DatasetDict
    from transformers import PreTrainedModel, PreTrainedTokenizerBase

logger = logging.getLogger(__name__)

METADATA_FILE = "bioie_relation_classifier.json"
#: the file that marks a directory as a :class:`RelationClassifierEnsemble` (members in subfolders)
ENSEMBLE_FILE = "bioie_relation_ensemble.json"

#: what the classification head reads: the first token's vector, or the two start markers'
POOLINGS = ("cls", "entity_start")
SELECTION_METRICS = ("positive_macro_f1", "positive_micro_f1")
WEIGHTS_FILE = "model.safetensors"


# --------------------------------------------------------------------------------------------
# Scores
# --------------------------------------------------------------------------------------------


def classification_scores(
    gold: Sequence[str], predicted: Sequence[str], *, negative: str = NEGATIVE_RELATION
) -> dict[str, Any]:
    """Scores over the positive labels, the way DDI and ChemProt are reported.

    ``positive_micro_f1``: a prediction is a true positive when it equals a gold label other than
    ``negative``; predicted and gold positives are everything but ``negative``.
    ``positive_macro_f1``: the mean F1 of the positive labels that occur in gold or in the
    predictions (a label absent from both has no F1 and is left out); 0.0 when there are none.
    """
    if len(gold) != len(predicted):
        raise ValueError(f"{len(gold)} gold labels but {len(predicted)} predictions")
    true_positive: Counter[str] = Counter()
    n_gold: Counter[str] = Counter()
    n_predicted: Counter[str] = Counter()
    for g, p in zip(gold, predicted, strict=True):
        if g != negative:
            n_gold[g] += 1
        if p != negative:
            n_predicted[p] += 1
            if p == g:
                true_positive[p] += 1

    def prf(tp: int, n_pred: int, n_gold_: int) -> dict[str, float]:
        precision = tp / n_pred if n_pred else 0.0
        recall = tp / n_gold_ if n_gold_ else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        return {"precision": precision, "recall": recall, "f1": f1}

    per_label = {
        label: {
            **prf(true_positive[label], n_predicted[label], n_gold[label]),
            "support": n_gold[label],
            "predicted": n_predicted[label],
        }
        for label in sorted(set(n_gold) | set(n_predicted))
    }
    micro = prf(sum(true_positive.values()), sum(n_predicted.values()), sum(n_gold.values()))
    macro = (
        sum(scores["f1"] for scores in per_label.values()) / len(per_label) if per_label else 0.0
    )
    accuracy = (
        sum(g == p for g, p in zip(gold, predicted, strict=True)) / len(gold) if gold else 0.0
    )
    return {
        "positive_micro_precision": micro["precision"],
        "positive_micro_recall": micro["recall"],
        "positive_micro_f1": micro["f1"],
        "positive_macro_f1": macro,
        "accuracy": accuracy,
        "examples": len(gold),
        "per_label": per_label,
    }


# --------------------------------------------------------------------------------------------
# Encoding
# --------------------------------------------------------------------------------------------


@dataclass
class EncodingStats:
    """What encoding did to the texts; nothing is cut without being counted."""

    texts: int = 0
    windowed: int = 0
    markers_cut: int = 0

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


def add_marker_tokens(tokenizer: PreTrainedTokenizerBase) -> int:
    """Add :data:`MARKERS` as special tokens; returns how many were new."""
    return tokenizer.add_tokens(list(MARKERS), special_tokens=True)


def encode_marked_texts(
    tokenizer: PreTrainedTokenizerBase, texts: Sequence[str], *, max_length: int
) -> tuple[list[list[int]], EncodingStats]:
    """Token ids (with the special tokens around) of each text, at most ``max_length`` long.

    A longer text keeps the window of sub-tokens that holds its markers, centred on them; if the
    markers are further apart than the window, the window starts at the first marker and the
    ones it cannot hold are counted in ``markers_cut``.
    """
    prefix, suffix = special_tokens_around(tokenizer)
    budget = max_length - len(prefix) - len(suffix)
    if budget < 8:
        raise ValueError(f"max_length {max_length} leaves no room for the text")
    marker_ids = set(tokenizer.convert_tokens_to_ids(list(MARKERS)))
    stats = EncodingStats()
    encoded = tokenizer(list(texts), add_special_tokens=False)["input_ids"] if texts else []
    out = []
    for ids in encoded:
        stats.texts += 1
        window = list(ids)
        if len(ids) > budget:
            stats.windowed += 1
            positions = [i for i, token in enumerate(ids) if token in marker_ids]
            low, high = (positions[0], positions[-1] + 1) if positions else (0, 0)
            if high - low > budget:
                start = low
            else:
                start = max(0, low - (budget - (high - low)) // 2)
                start = min(start, len(ids) - budget)
            window = window[start : start + budget]
            stats.markers_cut += len(positions) - sum(1 for t in window if t in marker_ids)
        out.append(list(prefix) + window + list(suffix))
    return out, stats


# --------------------------------------------------------------------------------------------
# The entity-start head
# --------------------------------------------------------------------------------------------


@functools.cache
def _entity_start_class():
    import torch
    from transformers.modeling_outputs import SequenceClassifierOutput

    class EntityStartClassifier(torch.nn.Module):
        """An encoder and a linear layer over the concatenated ``[E1]`` and ``[E2]`` vectors.

        A marker missing from a row (cut off by the window; counted at encoding) reads the
        first token instead. ``config`` is the encoder's, with the label map and
        ``bioie_pooling`` / ``bioie_marker_ids`` added, so the directory describes itself.
        """

        def __init__(self, encoder, marker_ids: Sequence[int]):
            super().__init__()
            self.encoder = encoder
            self.config = encoder.config
            self.config.bioie_pooling = "entity_start"
            self.config.bioie_marker_ids = [int(i) for i in marker_ids]
            dropout = getattr(self.config, "classifier_dropout", None)
            if dropout is None:
                dropout = getattr(self.config, "hidden_dropout_prob", 0.1)
            self.dropout = torch.nn.Dropout(dropout)
            self.classifier = torch.nn.Linear(2 * self.config.hidden_size, self.config.num_labels)
            std = getattr(self.config, "initializer_range", 0.02)
            torch.nn.init.normal_(self.classifier.weight, std=std)
            torch.nn.init.zeros_(self.classifier.bias)

        def get_input_embeddings(self):
            return self.encoder.get_input_embeddings()

        def forward(self, input_ids, attention_mask=None, labels=None, **_):
            hidden = self.encoder(
                input_ids=input_ids, attention_mask=attention_mask
            ).last_hidden_state
            rows = torch.arange(input_ids.size(0), device=input_ids.device)
            head, tail = self.config.bioie_marker_ids
            # first occurrence of each marker; argmax of an all-False row is 0, the first token
            first_head = (input_ids == head).int().argmax(-1)
            first_tail = (input_ids == tail).int().argmax(-1)
            pooled = torch.cat([hidden[rows, first_head], hidden[rows, first_tail]], dim=-1)
            logits = self.classifier(self.dropout(pooled))
            loss = None
            if labels is not None:
                loss = torch.nn.functional.cross_entropy(logits.float(), labels)
            return SequenceClassifierOutput(loss=loss, logits=logits)

        def save_pretrained(self, directory: str | Path, **_) -> None:
            from safetensors.torch import save_file

            directory = Path(directory)
            directory.mkdir(parents=True, exist_ok=True)
            self.config.save_pretrained(directory)
            state = {k: v.detach().contiguous() for k, v in self.state_dict().items()}
            save_file(state, str(directory / WEIGHTS_FILE), metadata={"format": "pt"})

        @classmethod
        def from_pretrained(cls, directory: str | Path, *, trust_remote_code: bool = False):
            from safetensors.torch import load_file
            from transformers import AutoConfig, AutoModel

            directory = Path(directory)
            config = AutoConfig.from_pretrained(directory, trust_remote_code=trust_remote_code)
            marker_ids = getattr(config, "bioie_marker_ids", None)
            if getattr(config, "bioie_pooling", None) != "entity_start" or not marker_ids:
                raise ValueError(
                    f"{directory / 'config.json'}: not an entity_start relation classifier "
                    "(no bioie_pooling / bioie_marker_ids)"
                )
            encoder = AutoModel.from_config(config, trust_remote_code=trust_remote_code)
            model = cls(encoder, marker_ids)
            model.load_state_dict(load_file(str(directory / WEIGHTS_FILE)), strict=True)
            return model

    return EntityStartClassifier


def entity_start_classifier(encoder, marker_ids: Sequence[int]):
    """``encoder`` (an ``AutoModel``, its config holding the label map) with the entity-start
    head; a ``torch.nn.Module`` the ``Trainer`` trains and checkpoints as a state dict."""
    return _entity_start_class()(encoder, marker_ids)


# --------------------------------------------------------------------------------------------
# The trained artifact
# --------------------------------------------------------------------------------------------


@dataclass
class RelationClassifier:
    """A fine-tuned relation classifier with its tokenizer (markers included) and settings."""

    model: PreTrainedModel
    tokenizer: PreTrainedTokenizerBase
    settings: dict[str, Any]
    training_log: dict[str, Any] = field(default_factory=dict)
    #: the decision threshold: ``none``'s probability is multiplied by it before the argmax
    #: (:func:`labels_from_probabilities`); 1.0 unless tuned (:func:`tune_decision_threshold`)
    none_scale: float = 1.0

    @property
    def labels(self) -> list[str]:
        """Label names by id (``none`` first)."""
        id2label = {int(k): v for k, v in self.model.config.id2label.items()}
        return [id2label[i] for i in range(len(id2label))]

    def save(self, directory: str | Path) -> None:
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        self.model.save_pretrained(directory)
        self.tokenizer.save_pretrained(directory)
        (directory / METADATA_FILE).write_text(
            json.dumps(
                {
                    "labels": self.labels,
                    "markers": list(MARKERS),
                    "settings": self.settings,
                    "training_log": self.training_log,
                    "none_scale": self.none_scale,
                },
                indent=2,
            )
        )

    @classmethod
    def load(cls, directory: str | Path, *, device: str | None = None) -> RelationClassifier:
        from transformers import AutoModelForSequenceClassification

        def head_class(meta: dict[str, Any]):
            pooling = meta.get("settings", {}).get("pooling", "cls")
            return (
                _entity_start_class()
                if pooling == "entity_start"
                else AutoModelForSequenceClassification
            )

        model, tokenizer, meta = load_encoder_directory(
            directory,
            head_class,
            metadata_file=METADATA_FILE,
            what="relation classifier",
            device=device,
        )
        classifier = cls(
            model,
            tokenizer,
            meta["settings"],
            meta.get("training_log", {}),
            none_scale=_valid_none_scale(meta.get("none_scale", 1.0), Path(directory)),
        )
        if classifier.labels != meta["labels"]:
            raise ValueError(
                f"{Path(directory)}: config.json and {METADATA_FILE} disagree on the labels"
            )
        return classifier


def _valid_none_scale(value: Any, where: Path) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{where}: none_scale must be a number, got {value!r}")
    if not (value > 0 and math.isfinite(value)):
        raise ValueError(f"{where}: none_scale must be a positive number, got {value!r}")
    return float(value)


def _check_same_labels(members: Sequence[RelationClassifier]) -> list[str]:
    """The members' common labels; a member with other labels (or another order) is an error."""
    if not members:
        raise ValueError("an ensemble needs at least one classifier")
    labels = members[0].labels
    for index, member in enumerate(members[1:], start=1):
        if member.labels != labels:
            raise ValueError(
                f"ensemble member {index} has labels {member.labels}, member 0 has {labels}"
            )
    return labels


_MEMBER_NAME = re.compile(r"member-\d{2,}")


@dataclass
class RelationClassifierEnsemble:
    """Several relation classifiers with the same labels, e.g. one per training seed, whose label
    distributions :func:`predict_relation_labels` averages.

    Saved as a directory with one :class:`RelationClassifier` directory per member
    (``member-00``, ``member-01``, …) and :data:`ENSEMBLE_FILE` listing them with their labels
    and seeds.
    """

    members: list[RelationClassifier]
    #: the decision threshold on the averaged distribution (the members keep their own)
    none_scale: float = 1.0
    #: how ``none_scale`` was chosen (:func:`tune_decision_threshold`), if it was
    decision_threshold: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.members = list(self.members)
        _check_same_labels(self.members)

    @property
    def labels(self) -> list[str]:
        return self.members[0].labels

    def __len__(self) -> int:
        return len(self.members)

    def __iter__(self):
        return iter(self.members)

    def save(self, directory: str | Path) -> None:
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        names = [f"member-{index:02d}" for index in range(len(self.members))]
        for name, member in zip(names, self.members, strict=True):
            member.save(directory / name)
        (directory / ENSEMBLE_FILE).write_text(
            json.dumps(
                {
                    "members": names,
                    "labels": self.labels,
                    "seeds": [member.settings.get("seed") for member in self.members],
                    "checkpoints": [
                        member.training_log.get("snapshot", {}).get("checkpoint")
                        for member in self.members
                    ],
                    "none_scale": self.none_scale,
                    "decision_threshold": self.decision_threshold,
                },
                indent=2,
            )
        )

    @classmethod
    def load(
        cls, directory: str | Path, *, device: str | None = None
    ) -> RelationClassifierEnsemble:
        directory = Path(directory)
        path = directory / ENSEMBLE_FILE
        try:
            meta = json.loads(path.read_text())
        except json.JSONDecodeError as exc:
            raise ValueError(f"{path} is not valid JSON: {exc}") from exc
        names = meta.get("members") if isinstance(meta, dict) else None
        if not isinstance(names, list) or not names:
            raise ValueError(f"{path}: 'members' must be a non-empty list of member folders")
        for name in names:
            # only the folder names save() writes: a listed path never leaves the directory
            if not isinstance(name, str) or not _MEMBER_NAME.fullmatch(name):
                raise ValueError(f"{path}: member {name!r} is not a member folder name")
        members = [RelationClassifier.load(directory / name, device=device) for name in names]
        ensemble = cls(
            members,
            none_scale=_valid_none_scale(meta.get("none_scale", 1.0), path),
            decision_threshold=meta.get("decision_threshold") or {},
        )
        if ensemble.labels != meta.get("labels"):
            raise ValueError(f"{path}: the members' labels are not the listed {meta.get('labels')}")
        return ensemble


# --------------------------------------------------------------------------------------------
# Training
# --------------------------------------------------------------------------------------------


@dataclass
class RelationTrainingSettings:
    """Fine-tuning settings; fields keep the Hugging Face ``TrainingArguments`` names."""

    model_name_or_path: str = BUNDLED_MINILM
    learning_rate: float = 1e-5
    per_device_train_batch_size: int = 16
    per_device_eval_batch_size: int = 64
    num_train_epochs: float = 5
    max_steps: int = -1
    warmup_ratio: float = 0.1
    weight_decay: float = 0.01
    lr_scheduler_type: str = "linear"
    gradient_accumulation_steps: int = 1
    seed: int = 42
    early_stopping_patience: int = 3
    #: "epoch" or "steps" (then every ``eval_steps`` optimiser steps); checkpoints follow it
    eval_strategy: str = "epoch"
    eval_steps: int | None = None
    logging_steps: int = 50
    max_length: int = 256
    #: "balanced" (n / (k * count)) or "none"
    class_weighting: str = "balanced"
    #: "group_by_length" batches texts of similar length (little padding), or "random"
    train_sampling_strategy: str = "group_by_length"
    #: "entity_start" (the [E1] and [E2] vectors; see the module doc) or "cls" (the encoder's
    #: sequence-classification head)
    pooling: str = "entity_start"
    #: bf16 mixed precision: true, false, or "auto" (a CUDA GPU with bf16, or a CPU with
    #: AVX512-BF16 / AMX; 1.8x faster training on this CPU, docs/benchmarks.md)
    bf16: bool | str = False
    #: the validation score that picks the checkpoint kept: "positive_macro_f1" (seed 003's rule;
    #: every relation type counts the same) or "positive_micro_f1" (the score DDI and ChemProt
    #: report; on DDI it kept a later, better checkpoint, docs/benchmarks.md)
    selection_metric: str = "positive_macro_f1"
    #: 2 or more: the final model is the mean of the weights of the last this-many checkpoints
    #: (one per evaluation) instead of the best one (DDI: +1.2 and +2.4 test F1 for two seeds,
    #: docs/benchmarks.md); enough checkpoints are then kept. 0 or 1: the selected checkpoint
    average_last_checkpoints: int = 0
    #: 2 or more: the student is an ensemble of its last this-many checkpoints ("snapshots"), whose
    #: label distributions are averaged at prediction (one forward pass each); 0 or 1: one model.
    #: Exclusive with ``average_last_checkpoints`` (docs/benchmarks.md compares the two on DDI)
    snapshot_last_checkpoints: int = 0
    #: checkpoints kept in the output directory (the best and the newest with 2); None keeps
    #: every evaluation's checkpoint (for checkpoint averaging or snapshot ensembles)
    save_total_limit: int | None = 2
    trust_remote_code: bool = False


def class_weights(label_ids: Sequence[int], n_labels: int) -> list[float]:
    """``n / (k * count)`` per label (sklearn's "balanced"); a label without examples gets 1.0."""
    counts = Counter(label_ids)
    n = len(label_ids)
    present = sum(1 for i in range(n_labels) if counts[i])
    return [n / (present * counts[i]) if counts[i] else 1.0 for i in range(n_labels)]


def _torch_dataset(ids: Sequence[list[int]], labels: Sequence[int] | None):
    import torch

    class _Examples(torch.utils.data.Dataset):
        def __len__(self) -> int:
            return len(ids)

        def __getitem__(self, index: int) -> dict[str, Any]:
            item: dict[str, Any] = {
                "input_ids": ids[index],
                "attention_mask": [1] * len(ids[index]),
            }
            if labels is not None:
                item["labels"] = labels[index]
            return item

    return _Examples()


def _weighted_loss(weights: Sequence[float]):
    """Class-weighted cross-entropy, summed and divided by the number of examples in the
    (gradient-accumulated) batch, which the Trainer passes as ``num_items_in_batch``."""
    import torch

    weight = torch.tensor(list(weights), dtype=torch.float32)

    def loss(outputs, labels, num_items_in_batch=None):
        logits = outputs["logits"] if isinstance(outputs, Mapping) else outputs[0]
        per_example = torch.nn.functional.cross_entropy(
            logits.float(), labels, weight=weight.to(logits.device), reduction="sum"
        )
        count = num_items_in_batch if num_items_in_batch is not None else labels.numel()
        return per_example / count

    return loss


def train_relation_classifier(
    dataset: DatasetDict,
    settings: RelationTrainingSettings,
    *,
    output_dir: str | Path,
    train_split: str = "train",
    eval_split: str = "validation",
    resume: bool = True,
) -> RelationClassifier | RelationClassifierEnsemble:
    """Fine-tune an encoder on ``dataset[train_split]``, selecting on ``dataset[eval_split]``.

    The label map comes from the ``ClassLabel`` of the ``label`` column. Checkpoints stay in
    ``output_dir``; with ``resume`` a run continues from the newest one. With
    ``snapshot_last_checkpoints`` of 2 or more the result is a :class:`RelationClassifierEnsemble`
    of the run's last checkpoints.
    """
    import numpy as np
    from transformers import (
        AutoModelForSequenceClassification,
        AutoTokenizer,
        DataCollatorWithPadding,
        EarlyStoppingCallback,
        set_seed,
    )

    if settings.eval_strategy not in {"epoch", "steps"}:
        raise ValueError(
            f"eval_strategy must be 'epoch' or 'steps', got {settings.eval_strategy!r}"
        )
    if settings.train_sampling_strategy not in {"group_by_length", "random"}:
        raise ValueError(
            "train_sampling_strategy must be 'group_by_length' or 'random', "
            f"got {settings.train_sampling_strategy!r}"
        )
    if settings.class_weighting not in {"balanced", "none"}:
        raise ValueError(
            f"class_weighting must be 'balanced' or 'none', got {settings.class_weighting!r}"
        )
    if settings.pooling not in POOLINGS:
        raise ValueError(f"pooling must be one of {POOLINGS}, got {settings.pooling!r}")
    if settings.selection_metric not in SELECTION_METRICS:
        raise ValueError(
            f"selection_metric must be one of {SELECTION_METRICS}, "
            f"got {settings.selection_metric!r}"
        )
    metric = settings.selection_metric
    average = settings.average_last_checkpoints
    snapshots = settings.snapshot_last_checkpoints
    if average < 0:
        raise ValueError(f"average_last_checkpoints must be 0 or more, got {average}")
    if snapshots < 0:
        raise ValueError(f"snapshot_last_checkpoints must be 0 or more, got {snapshots}")
    if average > 1 and snapshots > 1:
        raise ValueError(
            "average_last_checkpoints and snapshot_last_checkpoints exclude each other "
            f"(got {average} and {snapshots}): average the weights or ensemble the checkpoints"
        )
    bf16 = resolve_bf16(settings.bf16)
    for split in (train_split, eval_split):
        if split not in dataset or len(dataset[split]) == 0:
            raise ValueError(f"the relation dataset has no examples in split {split!r}")
    labels = list(dataset[train_split].features["label"].names)
    if labels[0] != NEGATIVE_RELATION:
        raise ValueError(f"label 0 must be {NEGATIVE_RELATION!r}, got {labels}")

    set_seed(settings.seed)
    name = resolve_model_name(settings.model_name_or_path)
    tokenizer = AutoTokenizer.from_pretrained(name, trust_remote_code=settings.trust_remote_code)
    add_marker_tokens(tokenizer)
    train_ids, train_stats = encode_marked_texts(
        tokenizer, dataset[train_split]["text"], max_length=settings.max_length
    )
    eval_ids, eval_stats = encode_marked_texts(
        tokenizer, dataset[eval_split]["text"], max_length=settings.max_length
    )
    train_labels = list(dataset[train_split]["label"])
    eval_labels = list(dataset[eval_split]["label"])
    logger.info(
        "Relation examples: %d train %s, %d %s %s",
        len(train_ids),
        train_stats.as_dict(),
        len(eval_ids),
        eval_split,
        eval_stats.as_dict(),
    )

    label_map = {
        "num_labels": len(labels),
        "id2label": dict(enumerate(labels)),
        "label2id": {label: i for i, label in enumerate(labels)},
    }
    if settings.pooling == "entity_start":
        from transformers import AutoModel

        encoder = AutoModel.from_pretrained(
            name, trust_remote_code=settings.trust_remote_code, **label_map
        )
        encoder.resize_token_embeddings(len(tokenizer))
        marker_ids = tokenizer.convert_tokens_to_ids([MARKERS[0], MARKERS[2]])
        model = entity_start_classifier(encoder, marker_ids)
    else:
        model = AutoModelForSequenceClassification.from_pretrained(
            name, trust_remote_code=settings.trust_remote_code, **label_map
        )
        model.resize_token_embeddings(len(tokenizer))
    weights = (
        class_weights(train_labels, len(labels))
        if settings.class_weighting == "balanced"
        else [1.0] * len(labels)
    )

    def compute_metrics(prediction) -> dict[str, float]:
        logits = prediction.predictions
        logits = logits[0] if isinstance(logits, tuple) else logits
        predicted = [labels[i] for i in np.argmax(logits, axis=-1)]
        gold = [labels[i] for i in eval_labels]
        scores = classification_scores(gold, predicted)
        return {key: scores[key] for key in ("positive_macro_f1", "positive_micro_f1", "accuracy")}

    limit = settings.save_total_limit
    last_needed = max(average, snapshots)
    if last_needed > 1 and limit is not None:
        limit = max(limit, last_needed + 1)  # the last ``last_needed`` and the best
    args = selection_training_arguments(
        replace(settings, save_total_limit=limit),
        output_dir=output_dir,
        metric=metric,
        eval_strategy=settings.eval_strategy,
        eval_steps=settings.eval_steps,
        bf16=bf16,
        train_sampling_strategy=settings.train_sampling_strategy,
    )
    trainer = sequential_eval_trainer_class()(
        model=model,
        args=args,
        train_dataset=_torch_dataset(train_ids, train_labels),
        eval_dataset=_torch_dataset(eval_ids, eval_labels),
        data_collator=DataCollatorWithPadding(tokenizer),
        compute_metrics=compute_metrics,
        compute_loss_func=_weighted_loss(weights),
        callbacks=[EarlyStoppingCallback(early_stopping_patience=settings.early_stopping_patience)],
    )
    run = train_resumable(trainer, output_dir, resume=resume, metric=metric)
    kept = _kept_evaluation(run)
    training_log = {
        "train_seconds": run.seconds,
        "global_steps": run.global_steps,
        "selection_metric": metric,
        "best_validation_metric": run.best_metric,
        # both scores of the checkpoint kept, whichever chose it
        "best_validation_positive_macro_f1": kept.get("eval_positive_macro_f1"),
        "best_validation_positive_micro_f1": kept.get("eval_positive_micro_f1"),
        "best_checkpoint": run.best_checkpoint,
        "resumed_from": run.resumed_from,
        "validation_history": [
            {
                "epoch": e.get("epoch"),
                "step": e.get("step"),
                "positive_macro_f1": e["eval_positive_macro_f1"],
                "positive_micro_f1": e.get("eval_positive_micro_f1"),
                "loss": e.get("eval_loss"),
            }
            for e in run.evaluations
        ],
        "bf16": bf16,
        "class_weights": dict(zip(labels, weights)),
        "train_label_counts": {labels[i]: n for i, n in sorted(Counter(train_labels).items())},
        "train_encoding": train_stats.as_dict(),
        "validation_encoding": eval_stats.as_dict(),
    }
    logger.info("Trained in %.0f s; best validation %s %s", run.seconds, metric, run.best_metric)
    model = without_mixed_precision_wrapper(trainer.model)
    if average > 1:
        training_log["weight_average"] = _average_last_checkpoints(trainer, output_dir, average)
    if snapshots > 1:
        return _snapshot_ensemble(
            model, tokenizer, asdict(settings), training_log, run, output_dir, snapshots
        )
    return RelationClassifier(model, tokenizer, asdict(settings), training_log)


def _average_last_checkpoints(trainer: Any, output_dir: str | Path, count: int) -> dict[str, Any]:
    """Replace the trainer's model weights by the mean of its last ``count`` checkpoints (fewer
    when the run made fewer) and score the result on the evaluation split."""
    last = checkpoints_by_step(output_dir)[-count:]
    average_checkpoint_weights(without_mixed_precision_wrapper(trainer.model), last)
    scores = trainer.evaluate()
    report = {
        "checkpoints": [p.name for p in last],
        "validation_positive_macro_f1": scores.get("eval_positive_macro_f1"),
        "validation_positive_micro_f1": scores.get("eval_positive_micro_f1"),
    }
    if len(last) < count:
        logger.warning(
            "average_last_checkpoints %d: the run left only %d checkpoints", count, len(last)
        )
    logger.info(
        "Final weights: the mean of %s; validation positive micro-F1 %s",
        report["checkpoints"],
        report["validation_positive_micro_f1"],
    )
    return report


def _snapshot_ensemble(
    model: Any,
    tokenizer: Any,
    settings: dict[str, Any],
    training_log: dict[str, Any],
    run: Any,
    output_dir: str | Path,
    count: int,
) -> RelationClassifierEnsemble:
    """The last ``count`` checkpoints of one run (fewer when it made fewer) as an ensemble, each
    member a copy of ``model`` with that checkpoint's weights and its validation scores logged."""
    import copy

    last = checkpoints_by_step(output_dir)[-count:]
    if len(last) < count:
        logger.warning("snapshot_last_checkpoints %d: the run left only %d", count, len(last))
    by_step = {str(e.get("step")): e for e in run.evaluations}
    members = []
    for checkpoint in last:
        member = copy.deepcopy(model)
        average_checkpoint_weights(member, [checkpoint])  # the mean of one: its weights
        evaluation = by_step.get(checkpoint.name.rpartition("-")[2], {})
        snapshot = {
            "checkpoint": checkpoint.name,
            "epoch": evaluation.get("epoch"),
            "validation_positive_macro_f1": evaluation.get("eval_positive_macro_f1"),
            "validation_positive_micro_f1": evaluation.get("eval_positive_micro_f1"),
        }
        members.append(
            RelationClassifier(member, tokenizer, settings, {**training_log, "snapshot": snapshot})
        )
    logger.info("Student: an ensemble of the checkpoints %s", [p.name for p in last])
    return RelationClassifierEnsemble(members)


def _kept_evaluation(run: Any) -> dict[str, Any]:
    """The evaluation of the checkpoint the Trainer kept (by its step), or ``{}``."""
    if not run.best_checkpoint:
        return {}
    step = Path(run.best_checkpoint).name.rpartition("-")[2]
    return next((e for e in run.evaluations if str(e.get("step")) == step), {})


def train_relation_ensemble(
    dataset: DatasetDict,
    settings: RelationTrainingSettings,
    seeds: Sequence[int],
    *,
    output_dir: str | Path,
    train_split: str = "train",
    eval_split: str = "validation",
    resume: bool = True,
) -> RelationClassifierEnsemble:
    """One :func:`train_relation_classifier` per seed (``settings`` with ``seed`` replaced), each
    selected on ``eval_split`` on its own, checkpoints in ``output_dir/seed-<seed>`` (so an
    interrupted ensemble resumes member by member)."""
    seeds = [int(seed) for seed in seeds]
    if not seeds:
        raise ValueError("train_relation_ensemble needs at least one seed")
    if len(set(seeds)) != len(seeds):
        raise ValueError(f"ensemble seeds repeat: {seeds}")
    members: list[RelationClassifier] = []
    for index, seed in enumerate(seeds, start=1):
        logger.info("Ensemble member %d of %d: seed %d", index, len(seeds), seed)
        student = train_relation_classifier(
            dataset,
            replace(settings, seed=seed),
            output_dir=Path(output_dir) / f"seed-{seed}",
            train_split=train_split,
            eval_split=eval_split,
            resume=resume,
        )
        # a seed's snapshot ensemble joins as its members: one flat average over all of them
        members.extend(student if isinstance(student, RelationClassifierEnsemble) else [student])
    return RelationClassifierEnsemble(members)


# --------------------------------------------------------------------------------------------
# Prediction
# --------------------------------------------------------------------------------------------


@dataclass
class PredictionStats:
    examples: int = 0
    seconds: float = 0.0
    encoding: dict[str, int] = field(default_factory=dict)

    @property
    def examples_per_second(self) -> float:
        return self.examples / self.seconds if self.seconds else math.inf


def relation_probabilities(
    classifier: RelationClassifier,
    texts: Sequence[str],
    *,
    batch_size: int = 64,
    bf16: bool | str = False,
) -> tuple[Any, PredictionStats]:
    """The label distribution of each marked text (a ``len(texts) × len(labels)`` float32 numpy
    array, columns in ``classifier.labels`` order), batched by length.

    ``bf16`` (true, false or ``"auto"``, as in training) runs the encoder under bf16 autocast:
    2.9x faster on this project's AVX512-BF16 CPU, with probabilities that differ from fp32 by
    0.0002 on average (DDI test: 1 label of 5,334 changed; docs/benchmarks.md); the softmax
    stays in fp32.
    """
    import numpy as np
    import torch

    ids, encoding = encode_marked_texts(
        classifier.tokenizer, texts, max_length=classifier.settings.get("max_length", 256)
    )
    model = classifier.model
    model.eval()
    device = next(model.parameters()).device
    pad_id = classifier.tokenizer.pad_token_id or 0
    order = sorted(range(len(ids)), key=lambda i: len(ids[i]))
    probabilities = np.zeros((len(ids), len(classifier.labels)), dtype=np.float32)
    autocast = torch.autocast(device.type, dtype=torch.bfloat16, enabled=resolve_bf16(bf16))
    started = time.perf_counter()
    with torch.inference_mode(), autocast:
        for offset in range(0, len(order), batch_size):
            batch = order[offset : offset + batch_size]
            width = max(len(ids[i]) for i in batch)
            input_ids = torch.full((len(batch), width), pad_id, dtype=torch.long)
            mask = torch.zeros((len(batch), width), dtype=torch.long)
            for row, index in enumerate(batch):
                input_ids[row, : len(ids[index])] = torch.tensor(ids[index])
                mask[row, : len(ids[index])] = 1
            logits = model(input_ids=input_ids.to(device), attention_mask=mask.to(device)).logits
            probabilities[batch] = logits.float().softmax(-1).cpu().numpy()
    stats = PredictionStats(len(ids), time.perf_counter() - started, encoding.as_dict())
    return probabilities, stats


def mean_relation_probabilities(
    classifier: RelationClassifier | RelationClassifierEnsemble | Sequence[RelationClassifier],
    texts: Sequence[str],
    *,
    batch_size: int = 64,
    bf16: bool | str = False,
) -> tuple[Any, list[str], PredictionStats]:
    """:func:`relation_probabilities` averaged over the members of an ensemble (or of one
    classifier), with the common labels; stats count each text once and the time of all members."""
    members = [classifier] if isinstance(classifier, RelationClassifier) else list(classifier)
    if not members:
        raise ValueError("predict_relation_labels needs at least one classifier")
    labels = _check_same_labels(members)
    total = None
    stats = PredictionStats(len(texts))
    for member in members:
        probabilities, member_stats = relation_probabilities(
            member, texts, batch_size=batch_size, bf16=bf16
        )
        total = probabilities if total is None else total + probabilities
        stats.seconds += member_stats.seconds
        stats.encoding = member_stats.encoding
    return total / len(members), labels, stats


def predict_relation_labels(
    classifier: RelationClassifier | RelationClassifierEnsemble | Sequence[RelationClassifier],
    texts: Sequence[str],
    *,
    batch_size: int = 64,
    none_scale: float | None = None,
    bf16: bool | str = False,
) -> tuple[list[str], list[float], PredictionStats]:
    """The most probable label of each marked text and its probability, batched by length.

    Given several classifiers (an ensemble, e.g. one student per training seed) the label
    distributions are averaged; every member must have the same labels in the same order.
    Stats then count each text once and the time of all members. ``none_scale``: the decision
    threshold (:func:`labels_from_probabilities`); by default the classifier's or ensemble's own
    (1.0 for a plain list). ``bf16``: see :func:`relation_probabilities`.
    """
    mean, labels, stats = mean_relation_probabilities(
        classifier, texts, batch_size=batch_size, bf16=bf16
    )
    if none_scale is None:
        none_scale = (
            classifier.none_scale
            if isinstance(classifier, RelationClassifier | RelationClassifierEnsemble)
            else 1.0
        )
    predicted, scores = labels_from_probabilities(mean, labels, none_scale=none_scale)
    return predicted, scores, stats


def labels_from_probabilities(
    probabilities: Any,
    labels: Sequence[str],
    *,
    none_scale: float = 1.0,
    negative: str = NEGATIVE_RELATION,
) -> tuple[list[str], list[float]]:
    """The most probable label of each row of ``probabilities`` (columns in ``labels`` order)
    after the ``negative`` column is multiplied by ``none_scale`` (below 1 favours the positive
    labels, above 1 ``none``), and that label's unscaled probability."""
    import numpy as np

    if none_scale <= 0 or not math.isfinite(none_scale):
        raise ValueError(f"none_scale must be a positive number, got {none_scale}")
    probabilities = np.asarray(probabilities, dtype=np.float64)
    if probabilities.ndim != 2 or probabilities.shape[1] != len(labels):
        raise ValueError(
            f"probabilities of shape {probabilities.shape} do not match {len(labels)} labels"
        )
    scaled = probabilities.copy()
    if negative in labels:
        scaled[:, list(labels).index(negative)] *= none_scale
    best = scaled.argmax(-1)
    rows = np.arange(len(best))
    return [labels[int(i)] for i in best], probabilities[rows, best].tolist()


#: ``none_scale`` candidates of :func:`tune_none_scale`: 1/16 … 16 in steps of 2^(1/4)
NONE_SCALE_GRID = tuple(float(2 ** (k / 4)) for k in range(-16, 17))


def tune_none_scale(
    probabilities: Any,
    gold: Sequence[str],
    labels: Sequence[str],
    *,
    grid: Sequence[float] = NONE_SCALE_GRID,
    metric: str = "positive_micro_f1",
    negative: str = NEGATIVE_RELATION,
) -> tuple[float, dict[float, float]]:
    """The ``none_scale`` of :func:`labels_from_probabilities` that maximises ``metric`` (a key
    of :func:`classification_scores`) on held-out rows with ``gold`` labels — a decision threshold
    chosen on validation data, never on test. Ties go to the scale nearest 1 (in log). Returns the
    scale and the score of every candidate."""
    if negative not in labels:
        raise ValueError(f"the labels {list(labels)} have no {negative!r} to scale")
    if len(gold) != len(probabilities):
        raise ValueError(f"{len(gold)} gold labels but {len(probabilities)} rows of probabilities")
    curve = {}
    for scale in grid:
        predicted, _ = labels_from_probabilities(
            probabilities, labels, none_scale=scale, negative=negative
        )
        curve[float(scale)] = classification_scores(gold, predicted, negative=negative)[metric]
    best = max(curve.items(), key=lambda item: (item[1], -abs(math.log(item[0]))))
    return best[0], curve


def tune_decision_threshold(
    classifier: RelationClassifier | RelationClassifierEnsemble,
    texts: Sequence[str],
    gold: Sequence[str],
    *,
    batch_size: int = 64,
    bf16: bool | str = False,
) -> dict[str, Any]:
    """Choose ``classifier.none_scale`` on held-out texts with ``gold`` labels (validation, never
    test) by :func:`tune_none_scale` over positive micro-F1, set it, and return what was chosen
    (also kept in the training log, or the ensemble's ``decision_threshold``). ``bf16``: see
    :func:`relation_probabilities`."""
    mean, labels, _ = mean_relation_probabilities(
        classifier, texts, batch_size=batch_size, bf16=bf16
    )
    scale, curve = tune_none_scale(mean, gold, labels)
    report = {
        "none_scale": scale,
        "metric": "positive_micro_f1",
        "examples": len(gold),
        "plain": curve[1.0],
        "tuned": curve[scale],
    }
    classifier.none_scale = scale
    if isinstance(classifier, RelationClassifierEnsemble):
        classifier.decision_threshold = report
    else:
        classifier.training_log["decision_threshold"] = report
    logger.info(
        "Decision threshold: none_scale %.3g, validation positive micro-F1 %.4f -> %.4f",
        scale,
        report["plain"],
        report["tuned"],
    )
    return report


def documents_with_predicted_relations(
    docs: Sequence[Document],
    rows: Sequence[Mapping[str, Any]],
    predicted: Sequence[str],
    *,
    scores: Sequence[float] | None = None,
    document_key: Any = None,
) -> list[Document]:
    """Copies of ``docs`` whose relations are the predicted positive labels of ``rows``.

    ``rows`` are example rows (``document_key``, ``head_id``, ``tail_id``);
    ``document_key(doc)`` gives the key rows use (default ``source/split/id``). Each relation is
    mention-level, ``R1``, ``R2``… in row order, with the probability in
    ``attributes["score"]`` when ``scores`` are given.
    """
    key_of = document_key or (lambda d: f"{d.source}/{d.split}/{d.id}")
    by_key: dict[str, list[Relation]] = {}
    for index, (row, label) in enumerate(zip(rows, predicted, strict=True)):
        if label == NEGATIVE_RELATION:
            continue
        relations = by_key.setdefault(row["document_key"], [])
        attributes = {"score": f"{scores[index]:.4f}"} if scores is not None else {}
        relations.append(
            Relation(
                f"R{len(relations) + 1}",
                label,
                row["head_id"],
                row["tail_id"],
                level="mention",
                attributes=attributes,
            )
        )
    return [replace(doc, relations=by_key.get(key_of(doc), [])) for doc in docs]
