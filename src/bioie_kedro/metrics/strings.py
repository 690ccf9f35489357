"""String-level scores of instruction-style output (IEPile and RA-IT): mentions without offsets.

Generative systems answer with strings, e.g. ``{"Disease": ["breast cancer", ...]}`` for NER or
``{"CID": [{"head": "cisplatin", "tail": "nephrotoxicity"}]}`` for RE. A :class:`StringRecord`
holds the gold and predicted answer of one text; :func:`score_strings` compares them.

* **Units.** Each (key, item) pair is one unit: (type, mention) for NER, (relation, (head, tail))
  for RE. An item is a string, a sequence of strings (a tuple such as ``(head, tail)``) or a
  mapping (``{"head": ..., "tail": ...}``, read as the tuple of its values in key order, so
  ``{"tail": t, "head": h}`` equals ``{"head": h, "tail": t}``). A bare string or mapping where a
  list is expected counts as a one-item list; ``None`` as an empty list. A ``"head|tail"`` string is
  an opaque string: prefer tuples, which are normalised component by component. Keys (types,
  relation names) are compared exactly.
* **Matching.** ``"multiset"`` (IEPile's default): each predicted unit that matches consumes one
  gold copy, so true positives = sum over units of min(gold count, predicted count) and a mention
  stated twice in gold must be predicted twice. ``"set"``: duplicates collapse on both sides first.
* **Normalisation** (``normalize=True``, RA-IT / UniversalNER style, :func:`normalize_mention`):
  lower-case, delete punctuation, remove the articles a / an / the as words, collapse white space.
  Off by default: IEPile scores exact strings.
* **Parse failures.** ``predicted=None`` marks an output that could not be parsed. Such a record is
  counted in ``unparsable`` (per source and pooled) and its gold units count as missed; it is never
  silently scored as an empty answer without being reported.
* **Scores.** Micro P/R/F1 over units, pooled over all records and per ``source``, with a
  percentile bootstrap over records (per source: over that source's records).

IEPile asks one text several times, each time with a chunk of the schema;
:func:`merge_chunk_predictions` merges the chunks' answers into one record per text first.
"""

from __future__ import annotations

import json
import re
import string
import unicodedata
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

from bioie_kedro.metrics.counts import PRF, bootstrap_sums, f1_from_counts, percentile_interval
from bioie_kedro.schema import Document

#: An answer item: a mention string, a (head, tail) tuple, or a {"head": ..., "tail": ...} mapping.
StringItem = str | Sequence[str] | Mapping[str, str]
#: An answer: key (type or relation) → items.
StringAnswer = Mapping[str, Sequence[StringItem]]

Matching = Literal["multiset", "set"]

_ARTICLES = re.compile(r"\b(?:a|an|the)\b")
_ASCII_PUNCTUATION = frozenset(string.punctuation)


def _is_punctuation(char: str) -> bool:
    """ASCII punctuation and symbols (``string.punctuation``) or any Unicode punctuation (P*)."""
    return char in _ASCII_PUNCTUATION or unicodedata.category(char).startswith("P")


def normalize_mention(text: str) -> str:
    """Lower-case, delete punctuation, drop the articles a/an/the as words, collapse white space.

    The SQuAD / UniversalNER answer normalisation, in its order (so "IL-2" → "il2", "the
    Parkinson's disease" → "parkinsons disease"); punctuation is ``string.punctuation`` plus every
    Unicode punctuation character (dashes, curly quotes).
    """
    lowered = text.lower()
    without_punctuation = "".join(char for char in lowered if not _is_punctuation(char))
    without_articles = _ARTICLES.sub(" ", without_punctuation)
    return " ".join(without_articles.split())


@dataclass(frozen=True)
class StringRecord:
    """The gold and predicted answer of one text.

    ``predicted`` is None when the system's output could not be parsed.
    """

    id: str
    source: str
    gold: StringAnswer
    predicted: StringAnswer | None


@dataclass(frozen=True)
class StringGroupScores:
    """Micro scores of a group of records (one source, or all), with its record counts."""

    scores: PRF
    records: int
    unparsable: int

    def as_dict(self) -> dict:
        return {**self.scores.as_dict(), "records": self.records, "unparsable": self.unparsable}


@dataclass(frozen=True)
class StringScores:
    """Pooled and per-source string scores."""

    pooled: StringGroupScores
    per_source: dict[str, StringGroupScores]
    matching: Matching
    normalize: bool

    def as_dict(self) -> dict:
        return {
            "pooled": self.pooled.as_dict(),
            "per_source": {name: scores.as_dict() for name, scores in self.per_source.items()},
            "matching": self.matching,
            "normalize": self.normalize,
        }


def _item_list(items: object) -> list:
    """The items under one key as a list (bare string or mapping → one item, None → none)."""
    if items is None:
        return []
    if isinstance(items, str | Mapping):
        return [items]
    if isinstance(items, Iterable):
        return list(items)
    return [items]


def _unit_item(item: object, normalize: bool) -> str | tuple[str, ...]:
    """A comparable form of one item (see the module docstring)."""

    def text(value: object) -> str:
        value = value if isinstance(value, str) else str(value)
        return normalize_mention(value) if normalize else value

    if isinstance(item, str):
        return text(item)
    if isinstance(item, Mapping):
        return tuple(text(item[key]) for key in sorted(item, key=str))
    if isinstance(item, Iterable):
        return tuple(text(value) for value in item)
    return text(item)


def answer_units(answer: StringAnswer, *, normalize: bool = False) -> Counter:
    """The (key, item) units of an answer, with their multiplicities."""
    units: Counter = Counter()
    for key, items in answer.items():
        for item in _item_list(items):
            units[(key, _unit_item(item, normalize))] += 1
    return units


def record_counts(
    record: StringRecord, *, matching: Matching = "multiset", normalize: bool = False
) -> tuple[int, int, int]:
    """``(true positives, predicted, gold)`` units of one record; an unparsable one predicts 0."""
    gold = answer_units(record.gold, normalize=normalize)
    predicted = (
        answer_units(record.predicted, normalize=normalize)
        if record.predicted is not None
        else Counter()
    )
    if matching == "set":
        gold = Counter(dict.fromkeys(gold, 1))
        predicted = Counter(dict.fromkeys(predicted, 1))
    elif matching != "multiset":
        raise ValueError(f"matching must be 'multiset' or 'set', got {matching!r}")
    true_positives = sum((gold & predicted).values())
    return true_positives, sum(predicted.values()), sum(gold.values())


def _group_scores(
    counts: np.ndarray, unparsable: int, *, bootstrap: int, seed: int, confidence: float
) -> StringGroupScores:
    ci = None
    if bootstrap > 0:
        ci = (0.0, 0.0)
        if len(counts):
            low, high = percentile_interval(
                f1_from_counts(bootstrap_sums(counts, resamples=bootstrap, seed=seed)), confidence
            )
            ci = (float(low), float(high))
    true_positives, predicted, gold = (int(c) for c in counts.sum(axis=0))
    return StringGroupScores(
        PRF.from_counts(true_positives, predicted, gold, f1_ci=ci), len(counts), unparsable
    )


def score_strings(
    records: Sequence[StringRecord],
    *,
    matching: Matching = "multiset",
    normalize: bool = False,
    bootstrap: int = 1000,
    seed: int = 0,
    confidence: float = 0.95,
) -> StringScores:
    """Micro P/R/F1 over (key, item) units, pooled and per source.

    Args:
        records: one record per text (merge IEPile chunks first with
            :func:`merge_chunk_predictions`).
        matching: ``"multiset"`` (each true positive consumes one gold copy) or ``"set"``.
        normalize: compare :func:`normalize_mention` forms instead of exact strings.
        bootstrap: resamples over records for ``f1_ci``; 0 skips it (``f1_ci`` is None).
        seed: seed of the bootstrap.
        confidence: coverage of the bootstrap interval.

    Raises:
        ValueError: the same (source, id) twice, which usually means unmerged chunks.
    """
    seen: set[tuple[str, str]] = set()
    for record in records:
        key = (record.source, record.id)
        if key in seen:
            raise ValueError(
                f"record {record.id!r} of source {record.source!r} appears more than once; "
                "merge the chunks of one text with merge_chunk_predictions first"
            )
        seen.add(key)
    counts = np.array(
        [record_counts(r, matching=matching, normalize=normalize) for r in records],
        dtype=np.int64,
    ).reshape(len(records), 3)
    unparsable = np.array([r.predicted is None for r in records], dtype=bool)
    sources = np.array([r.source for r in records], dtype=object)
    options = {"bootstrap": bootstrap, "seed": seed, "confidence": confidence}
    per_source = {
        name: _group_scores(
            counts[sources == name], int(unparsable[sources == name].sum()), **options
        )
        for name in sorted(set(sources.tolist()))
    }
    return StringScores(
        pooled=_group_scores(counts, int(unparsable.sum()), **options),
        per_source=per_source,
        matching=matching,
        normalize=normalize,
    )


def merge_chunk_predictions(chunks: Iterable[StringRecord]) -> list[StringRecord]:
    """One record per text from the records of its schema chunks (IEPile evaluation).

    Chunks of one text share ``(source, id)``. Gold is taken from the first chunk (IEPile repeats
    the full gold in every chunk); predictions are merged key by key, items concatenated in chunk
    order (a multiset union, so duplicates across chunks are kept). If any chunk of a text could
    not be parsed, the merged record is unparsable (``predicted=None``): it is counted as such and
    all its gold units count as missed, the conservative reading. Texts keep the order of their
    first chunk.
    """
    first: dict[tuple[str, str], StringRecord] = {}
    merged: dict[tuple[str, str], dict[str, list] | None] = {}
    for chunk in chunks:
        key = (chunk.source, chunk.id)
        if key not in first:
            first[key] = chunk
            merged[key] = {}
        answer = merged[key]
        if answer is None:
            continue
        if chunk.predicted is None:
            merged[key] = None
            continue
        for name, items in chunk.predicted.items():
            answer.setdefault(name, []).extend(_item_list(items))
    return [
        StringRecord(record.id, record.source, record.gold, merged[key])
        for key, record in first.items()
    ]


#: Attribute of a predicted :class:`~bioie_kedro.schema.Document` that holds a decoder's raw answer
#: as JSON ``{type: [mention, …]}`` (before it is mapped back to spans), so string-level scores see
#: what the model said even where a string could not be found in the text.
PREDICTED_MENTIONS_ATTRIBUTE = "predicted_mentions"
#: Attribute of a predicted document whose value ``"unparsable"`` marks an answer that could not
#: be parsed; such documents are counted, and their gold mentions scored as missed.
PARSE_STATUS_ATTRIBUTE = "parse_status"
UNPARSABLE = "unparsable"
#: Attribute of a predicted document answered in several units (sentences): how many of them
#: could not be parsed. The document's answer is what the other units said, so the gold of the
#: failed units counts as missed; only when every unit failed is the document unparsable.
UNPARSABLE_UNITS_ATTRIBUTE = "unparsable_units"


def records_from_documents(
    gold: Sequence[Document],
    predicted: Sequence[Document],
    *,
    type_map: Mapping[str, str] | None = None,
) -> list[StringRecord]:
    """String records (type → mention texts) of gold documents and a system's predicted documents.

    The predicted answer is the document's :data:`PREDICTED_MENTIONS_ATTRIBUTE` when present, else
    the texts of its entities; :data:`PARSE_STATUS_ATTRIBUTE` = ``"unparsable"`` gives ``None``.
    Documents are paired by id; a gold document without prediction has an empty answer.
    """
    type_map = dict(type_map or {})

    def by_type(pairs: Iterable[tuple[str, str]]) -> dict[str, list[str]]:
        answer: dict[str, list[str]] = {}
        for etype, mention in pairs:
            answer.setdefault(type_map.get(etype, etype), []).append(mention)
        return answer

    predicted_by_id = {doc.id: doc for doc in predicted}
    records = []
    for doc in gold:
        gold_answer = by_type((e.type, e.text) for e in doc.entities)
        pred = predicted_by_id.get(doc.id)
        answer: dict[str, list[str]] | None
        if pred is None:
            answer = {}
        elif pred.attributes.get(PARSE_STATUS_ATTRIBUTE) == UNPARSABLE:
            answer = None
        elif PREDICTED_MENTIONS_ATTRIBUTE in pred.attributes:
            raw = json.loads(pred.attributes[PREDICTED_MENTIONS_ATTRIBUTE])
            answer = by_type((etype, m) for etype, mentions in raw.items() for m in mentions)
        else:
            answer = by_type((e.type, e.text) for e in pred.entities)
        records.append(
            StringRecord(id=doc.id, source=doc.source, gold=gold_answer, predicted=answer)
        )
    return records
