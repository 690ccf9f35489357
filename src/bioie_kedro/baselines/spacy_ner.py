"""The spaCy peer system for NER: spaCy's default ``ner`` component trained from scratch.

A row in the comparison table next to the encoder (:mod:`bioie_kedro.token_classification`):
a blank English pipeline with ``nlp.add_pipe("ner")`` and nothing else changed (spaCy's default
model: a ``HashEmbedCNN`` tok2vec under the transition-based parser), trained on the same units as
the encoder and scored by the project's evaluator (:func:`bioie_kedro.metrics.ner.score_entities`).

Same units as the encoder:

* **Tokens** are the project's own (``Document.sentences``, from
  :func:`bioie_kedro.segmentation.segment_document`), never spaCy's tokenizer: each sentence
  becomes one ``spacy.tokens.Doc`` built from its token spans, with ``spaces`` from the gaps
  between tokens.
* **Gold entities** are the IOB2 word tags of :func:`bioie_kedro.views.to_iob2` (its overlap and
  sentence-boundary policy included), converted with ``iob_to_biluo`` / ``biluo_tags_to_spans``.
* **Predicted entities** go back the same way: spaCy's entities → IOB2 word tags →
  :func:`bioie_kedro.views.entities_from_iob2`, the mapping the encoder's predictions use.

Training follows spaCy's classic training loop: ``spacy.util.fix_random_seed``,
``nlp.initialize`` with the training examples (labels inferred from them), the default optimizer
(Adam with parameter averaging), dropout 0.1, examples shuffled every epoch and batched with
``spacy.util.minibatch`` over compounding sizes (4 → 32, factor 1.001, restarted each epoch).
After every epoch the model, with the optimizer's averaged parameters as ``spacy train`` uses
them for evaluation and saving, predicts the dev documents and is scored by strict F1; the
weights of the best epoch (kept with ``nlp.to_bytes()`` in memory) are restored at the end, and
training stops after ``patience`` epochs without improvement.

The pipeline is saved with spaCy's own ``nlp.to_disk`` and read back with ``spacy.load``; nothing
is pickled. spaCy is imported inside the functions that need it.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bioie_kedro.metrics.ner import score_entities
from bioie_kedro.schema import Document, Sentence
from bioie_kedro.views import entities_from_iob2, to_iob2

if TYPE_CHECKING:
    from spacy.language import Language
    from spacy.tokens import Doc
    from spacy.vocab import Vocab

logger = logging.getLogger(__name__)

#: ``nlp.meta`` key under which the training settings and log summary are stored.
META_KEY = "bioie_kedro"

#: spaCy's classic compounding batch sizes: (start, stop, factor).
DEFAULT_BATCH_SIZE: tuple[float, float, float] = (4.0, 32.0, 1.001)


def _require_sentences(docs: Iterable[Document]) -> None:
    for doc in docs:
        if not doc.sentences and doc.text.strip():
            raise ValueError(
                f"document {doc.id!r} has text but no sentences; segment it first "
                "(bioie_kedro.segmentation.segment_document)"
            )


def _spaces(token_spans: Sequence[tuple[int, int]]) -> list[bool]:
    """``Doc`` spaces: a token is followed by one when the next token does not start at its end."""
    spaces = [end < next_start for (_, end), (next_start, _) in zip(token_spans, token_spans[1:])]
    return [*spaces, False] if token_spans else []


def sentence_doc(vocab: Vocab, doc: Document, sentence: Sentence) -> Doc:
    """One sentence of ``doc`` as a spaCy ``Doc`` over the project's tokens.

    A token is followed by a space when the next token does not start where it ends; the last
    token of the sentence never is.
    """
    from spacy.tokens import Doc

    words = [doc.text[start:end] for start, end in sentence.tokens]
    return Doc(vocab, words=words, spaces=_spaces(sentence.tokens))


def _iob2_tags(spacy_doc: Doc) -> list[str]:
    """spaCy's entities on ``spacy_doc`` as IOB2 word tags."""
    tags = ["O"] * len(spacy_doc)
    for span in spacy_doc.ents:
        tags[span.start] = f"B-{span.label_}"
        for index in range(span.start + 1, span.end):
            tags[index] = f"I-{span.label_}"
    return tags


def training_examples(
    nlp: Language, docs: Sequence[Document], *, type_map: Mapping[str, str] | None = None
) -> tuple[list, dict]:
    """``spacy.training.Example`` objects, one per non-empty sentence, with gold from ``to_iob2``.

    Returns:
        The examples and the :class:`~bioie_kedro.views.IobPolicyReport` of ``to_iob2`` as a dict.
    """
    from spacy.tokens import Doc
    from spacy.training import Example, biluo_tags_to_spans, iob_to_biluo

    _require_sentences(docs)
    tagged, report = to_iob2(docs, type_map=type_map)
    examples = []
    for sentence in tagged:
        if not sentence.tokens:
            continue
        spaces = _spaces(sentence.token_spans)
        reference = Doc(nlp.vocab, words=sentence.tokens, spaces=spaces)
        reference.ents = biluo_tags_to_spans(reference, iob_to_biluo(sentence.tags))
        predicted = Doc(nlp.vocab, words=sentence.tokens, spaces=spaces)
        examples.append(Example(predicted, reference))
    return examples, report.as_dict()


def predict_spacy_ner(
    nlp: Language, docs: Sequence[Document], *, batch_size: int = 256
) -> tuple[list[Document], dict[str, Any]]:
    """Predicted copies of segmented ``docs``: entities from the pipeline, no relations.

    Each sentence becomes a ``Doc`` over the project's tokens (:func:`sentence_doc`) and goes
    through ``nlp.pipe``; the entities found are mapped back to character spans through IOB2 word
    tags and :func:`~bioie_kedro.views.entities_from_iob2`.

    Returns:
        The predicted documents, in input order, and stats: ``sentences``, ``seconds`` (the
        pipeline alone), ``sentences_per_second`` and ``total_seconds`` (with building the Docs
        and mapping the entities back).

    Raises:
        ValueError: a document has text but no sentences.
    """
    _require_sentences(docs)
    started = time.perf_counter()
    spacy_docs = [
        sentence_doc(nlp.vocab, doc, sentence) for doc in docs for sentence in doc.sentences
    ]
    pipe_started = time.perf_counter()
    processed = list(nlp.pipe(spacy_docs, batch_size=batch_size))
    seconds = time.perf_counter() - pipe_started
    out: list[Document] = []
    position = 0
    for doc in docs:
        tags = [_iob2_tags(d) for d in processed[position : position + len(doc.sentences)]]
        position += len(doc.sentences)
        out.append(replace(doc, entities=entities_from_iob2(doc, tags), relations=[]))
    total = time.perf_counter() - started
    stats = {
        "sentences": len(spacy_docs),
        "seconds": round(seconds, 3),
        "sentences_per_second": round(len(spacy_docs) / seconds, 1) if seconds > 0 else None,
        "total_seconds": round(total, 3),
    }
    return out, stats


def _batch_sizes(batch_size: int | tuple[float, float, float]):
    from spacy.util import compounding

    if isinstance(batch_size, int):
        return batch_size
    start, stop, factor = batch_size
    return compounding(start, stop, factor)


def train_spacy_ner(
    train_docs: Sequence[Document],
    dev_docs: Sequence[Document],
    *,
    type_map: Mapping[str, str] | None = None,
    max_epochs: int = 10,
    patience: int = 3,
    batch_size: int | tuple[float, float, float] = DEFAULT_BATCH_SIZE,
    dropout: float = 0.1,
    seed: int = 0,
    max_seconds: float | None = None,
    log: Callable[[str], None] | None = None,
) -> tuple[Language, dict[str, Any]]:
    """Train spaCy's default ``ner`` from scratch; keep the weights of the best dev epoch.

    Args:
        train_docs: segmented training documents.
        dev_docs: segmented dev documents, scored by strict F1 after every epoch.
        type_map: renames entity types before tagging (e.g. NCBI-disease's four types to
            ``"Disease"``); the model's labels are the renamed types.
        max_epochs: passes over the training sentences at most.
        patience: stop after this many epochs without a better dev strict F1.
        batch_size: a fixed number of sentences, or ``(start, stop, factor)`` of spaCy's
            ``compounding`` schedule (restarted every epoch).
        dropout: dropout of ``nlp.update``.
        seed: seeds spaCy, thinc, numpy and the shuffling.
        max_seconds: a time budget; no epoch is started that would, at the pace of the slowest
            epoch so far, end after it. ``None``: no budget.
        log: called with one line per epoch; defaults to this module's logger.

    Returns:
        The pipeline with the best epoch's weights, and the training log: ``epochs`` (per epoch:
        ``epoch``, ``loss``, ``dev_strict_f1``, ``dev_partial_f1``, ``seconds``), ``best_epoch``,
        ``best_dev_strict_f1``, ``stopped_early``, ``stopped_by_time``, ``seconds``, ``train_sentences``,
        ``labels``, ``iob2_policy`` and the settings.

    Raises:
        ValueError: a document has text but no sentences, the training documents have no
            entity to learn, or ``max_epochs`` / ``patience`` is below 1.
    """
    import spacy
    from spacy.util import fix_random_seed, minibatch

    if max_epochs < 1 or patience < 1:
        raise ValueError(f"max_epochs ({max_epochs}) and patience ({patience}) must be at least 1")
    log = log or logger.info
    _require_sentences(dev_docs)
    started = time.perf_counter()
    fix_random_seed(seed)
    rng = random.Random(seed)

    nlp = spacy.blank("en")
    nlp.add_pipe("ner")
    examples, policy = training_examples(nlp, train_docs, type_map=type_map)
    labels = sorted({ent.label_ for example in examples for ent in example.reference.ents})
    if not labels:
        raise ValueError("the training documents have no entity to learn")
    optimizer = nlp.initialize(lambda: examples)

    epochs: list[dict[str, Any]] = []
    best_f1, best_epoch, best_weights = -1.0, 0, b""
    stopped_by_time = False
    for epoch in range(1, max_epochs + 1):
        if max_seconds is not None and epochs:
            slowest = max(entry["seconds"] for entry in epochs)
            if time.perf_counter() - started + slowest > max_seconds:
                stopped_by_time = True
                log(f"stopping before epoch {epoch}: it would end after {max_seconds:.0f} s")
                break
        epoch_started = time.perf_counter()
        rng.shuffle(examples)
        losses: dict[str, float] = {}
        for batch in minibatch(examples, size=_batch_sizes(batch_size)):
            nlp.update(batch, drop=dropout, sgd=optimizer, losses=losses)
        # As `spacy train` does: evaluate, and keep, the optimizer's parameter averages.
        with nlp.use_params(optimizer.averages):
            predicted, _ = predict_spacy_ner(nlp, dev_docs)
            scores = score_entities(dev_docs, predicted, type_map=type_map, bootstrap=0)
            improved = scores.micro["strict"].f1 > best_f1
            if improved:
                best_weights = nlp.to_bytes()
        entry = {
            "epoch": epoch,
            "loss": round(float(losses.get("ner", 0.0)), 3),
            "dev_strict_f1": scores.micro["strict"].f1,
            "dev_partial_f1": scores.micro["partial"].f1,
            "seconds": round(time.perf_counter() - epoch_started, 1),
        }
        epochs.append(entry)
        if improved:
            best_f1, best_epoch = entry["dev_strict_f1"], epoch
        log(
            f"epoch {epoch}: loss {entry['loss']:.1f}, dev strict F1 {entry['dev_strict_f1']:.4f}"
            f"{' (best)' if improved else ''}, {entry['seconds']:.0f} s"
        )
        if epoch - best_epoch >= patience:
            break

    nlp.from_bytes(best_weights)
    seconds = time.perf_counter() - started
    training_log = {
        "epochs": epochs,
        "best_epoch": best_epoch,
        "best_dev_strict_f1": best_f1,
        "stopped_early": len(epochs) < max_epochs and not stopped_by_time,
        "stopped_by_time": stopped_by_time,
        "seconds": round(seconds, 1),
        "train_sentences": len(examples),
        "labels": labels,
        "iob2_policy": policy,
        "settings": {
            "type_map": dict(type_map or {}),
            "max_epochs": max_epochs,
            "patience": patience,
            "batch_size": batch_size,
            "dropout": dropout,
            "seed": seed,
            "max_seconds": max_seconds,
            "spacy_version": spacy.__version__,
        },
    }
    nlp.meta[META_KEY] = {
        **training_log["settings"],
        "best_epoch": best_epoch,
        "best_dev_strict_f1": best_f1,
    }
    return nlp, training_log


def save_spacy_ner(nlp: Language, directory: str | Path) -> None:
    """Write the pipeline with spaCy's ``nlp.to_disk`` (``config.cfg``, ``meta.json``, weights)."""
    nlp.to_disk(directory)


def load_spacy_ner(directory: str | Path) -> Language:
    """Read a pipeline written by :func:`save_spacy_ner` with ``spacy.load``.

    Raises:
        FileNotFoundError: ``directory`` is not a saved spaCy pipeline (no ``config.cfg``).
    """
    import spacy

    directory = Path(directory)
    if not (directory / "config.cfg").is_file():
        raise FileNotFoundError(f"{directory}: not a saved spaCy pipeline (no config.cfg)")
    return spacy.load(directory)
