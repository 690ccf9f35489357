"""The dictionary baseline: every training mention string, tagged wherever it recurs as whole tokens.

The floor each learned model must beat in a comparison table. :func:`build_dictionary` collects
the mention strings of the training documents, each with its most frequent type;
:func:`tag_documents` marks their occurrences in new documents, longest match first, never
overlapping, and only over whole tokens of :func:`bioie_kedro.segmentation.tokenize` (so
``"ACE"`` is not found inside ``"ACEi"``).

A dictionary key is the mention's tokens joined by one space (``"5-FU"`` -> ``"5 - FU"``),
lower-cased when the dictionary ignores case, so white space between tokens never matters. The
dictionary is a plain dataclass with a JSON form (:meth:`MentionDictionary.to_dict`), which the
catalog stores as JSON; nothing is pickled.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from bioie_kedro.mentions import MentionMatch, resolve_overlaps
from bioie_kedro.schema import Document, Entity
from bioie_kedro.segmentation import tokenize

#: ``format`` field of :meth:`MentionDictionary.to_dict`; checked by ``from_dict``.
DICTIONARY_FORMAT = "bioie-mention-dictionary"
DICTIONARY_FORMAT_VERSION = 1


def mention_key(text: str, *, case_insensitive: bool) -> str:
    """The dictionary key of a mention string: its tokens joined by one space.

    Tokens are lower-cased one by one when ``case_insensitive``; ``""`` when ``text`` has none.
    """
    tokens = [text[start:end] for start, end in tokenize(text)]
    if case_insensitive:
        tokens = [token.lower() for token in tokens]
    return " ".join(tokens)


@dataclass
class MentionDictionary:
    """Mention keys (see :func:`mention_key`) with their types, and how they were built.

    Attributes:
        entries: mention key -> entity type.
        case_insensitive: keys and the tokens they are compared with are lower-cased.
        min_length: training mentions shorter than this many characters were left out.
        stats: counts from :func:`build_dictionary` (informative only; not used for tagging).
    """

    entries: dict[str, str] = field(default_factory=dict)
    case_insensitive: bool = False
    min_length: int = 2
    stats: dict[str, Any] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.entries)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable form; entries sorted by key so that the file diffs cleanly."""
        return {
            "format": DICTIONARY_FORMAT,
            "version": DICTIONARY_FORMAT_VERSION,
            "case_insensitive": self.case_insensitive,
            "min_length": self.min_length,
            "stats": self.stats,
            "entries": dict(sorted(self.entries.items())),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> MentionDictionary:
        """Inverse of :meth:`to_dict`.

        Raises:
            ValueError: ``data`` is not a mention dictionary of a known version, or its entries
                are not a mapping of strings to strings.
        """
        if not isinstance(data, Mapping) or data.get("format") != DICTIONARY_FORMAT:
            found = data.get("format") if isinstance(data, Mapping) else type(data).__name__
            raise ValueError(
                f"not a mention dictionary: format is {found!r}, expected {DICTIONARY_FORMAT!r}"
            )
        if data.get("version") != DICTIONARY_FORMAT_VERSION:
            raise ValueError(
                f"mention dictionary version {data.get('version')!r} is not supported "
                f"(expected {DICTIONARY_FORMAT_VERSION})"
            )
        entries = data.get("entries")
        if not isinstance(entries, Mapping) or not all(
            isinstance(key, str) and isinstance(value, str) for key, value in entries.items()
        ):
            raise ValueError("mention dictionary entries must map mention keys to type names")
        case_insensitive = data.get("case_insensitive")
        min_length = data.get("min_length")
        if not isinstance(case_insensitive, bool) or not isinstance(min_length, int):
            raise ValueError(
                "mention dictionary needs a boolean 'case_insensitive' and an integer 'min_length', "
                f"got {case_insensitive!r} and {min_length!r}"
            )
        return cls(
            entries=dict(entries),
            case_insensitive=case_insensitive,
            min_length=min_length,
            stats=dict(data.get("stats") or {}),
        )


def build_dictionary(
    train_docs: Iterable[Document],
    *,
    case_insensitive: bool = False,
    min_length: int = 2,
    type_map: Mapping[str, str] | None = None,
    stopwords: Collection[str] = (),
) -> MentionDictionary:
    """A dictionary of every training mention string with its most frequent type.

    Args:
        train_docs: documents whose entities are the mentions.
        case_insensitive: key and match on lower-cased tokens. Off by default: training
            acronyms then match common words ("WAS" Wiskott-Aldrich syndrome -> "was", "AT" ->
            "at", "MG" -> "mg", "NO" -> "no", "ALL" -> "all"), which costs 10 strict F1 points
            on NCBI-disease test (59.1 against 69.3) and 2.7 on BC5CDR (67.3 against 70.0).
        min_length: leave out mentions shorter than this many characters (after stripping); 2
            drops one-letter mentions, 3 also drops two-letter acronyms, which helps only when
            case is ignored.
        type_map: rename types before counting, e.g. NCBI-disease's four classes to ``Disease``;
            types not in the map are kept.
        stopwords: mention strings never used as entries (compared as keys, so with the same
            case handling as the dictionary).

    A key seen with several types gets the most frequent one; ties go to the alphabetically first
    type. ``stats`` counts ``mentions`` (all seen), ``skipped_short``, ``skipped_stopword``,
    ``skipped_no_token``, ``entries``, ``conflicts`` (keys seen with more than one type),
    ``mentions_overruled`` (mentions whose type lost to a more frequent one) and
    ``entries_by_type``.
    """
    type_map = type_map or {}
    stop_keys = {mention_key(word, case_insensitive=case_insensitive) for word in stopwords}
    type_counts: dict[str, Counter[str]] = defaultdict(Counter)
    stats: dict[str, Any] = {
        "mentions": 0,
        "skipped_short": 0,
        "skipped_stopword": 0,
        "skipped_no_token": 0,
    }
    for doc in train_docs:
        for entity in doc.entities:
            stats["mentions"] += 1
            if len(entity.text.strip()) < min_length:
                stats["skipped_short"] += 1
                continue
            key = mention_key(entity.text, case_insensitive=case_insensitive)
            if not key:
                stats["skipped_no_token"] += 1
                continue
            if key in stop_keys:
                stats["skipped_stopword"] += 1
                continue
            type_counts[key][type_map.get(entity.type, entity.type)] += 1

    entries: dict[str, str] = {}
    conflicts = overruled = 0
    for key, counts in type_counts.items():
        best_type, best_count = min(counts.items(), key=lambda item: (-item[1], item[0]))
        entries[key] = best_type
        if len(counts) > 1:
            conflicts += 1
            overruled += sum(counts.values()) - best_count
    stats["entries"] = len(entries)
    stats["conflicts"] = conflicts
    stats["mentions_overruled"] = overruled
    stats["entries_by_type"] = dict(sorted(Counter(entries.values()).items()))
    return MentionDictionary(entries, case_insensitive, min_length, stats)


def _lengths_by_first_token(entries: Iterable[str]) -> dict[str, list[int]]:
    """First token of each key -> the token lengths of the keys starting with it, longest first."""
    lengths: dict[str, set[int]] = defaultdict(set)
    for key in entries:
        tokens = key.split(" ")
        lengths[tokens[0]].add(len(tokens))
    return {first: sorted(found, reverse=True) for first, found in lengths.items()}


def _tag_text(
    text: str, dictionary: MentionDictionary, lengths_by_first: Mapping[str, list[int]]
) -> list[MentionMatch]:
    spans = tokenize(text)
    tokens = [text[start:end] for start, end in spans]
    if dictionary.case_insensitive:
        tokens = [token.lower() for token in tokens]
    candidates = []
    for index, token in enumerate(tokens):
        for length in lengths_by_first.get(token, ()):
            if index + length > len(tokens):
                continue
            key = " ".join(tokens[index : index + length])
            etype = dictionary.entries.get(key)
            if etype is not None:
                start, end = spans[index][0], spans[index + length - 1][1]
                candidates.append(MentionMatch(start, end, etype, key))
    return resolve_overlaps(candidates)


def tag_documents(
    dictionary: MentionDictionary, docs: Iterable[Document], *, id_prefix: str = "D"
) -> list[Document]:
    """Copies of ``docs`` whose entities are the dictionary matches (ids ``D1``, ``D2`` …).

    Every occurrence of a key over whole tokens is a candidate; candidates are accepted longest
    first (in characters; ties: earliest start) without overlaps (:func:`~bioie_kedro.mentions.
    resolve_overlaps`). The copies keep id, text, source, split, passages, sentences and
    attributes (lists and dicts copied shallowly) and have no relations.

    Cost: one tokenisation per document and, per token, one hash look-up per distinct key length
    starting with that token.
    """
    lengths_by_first = _lengths_by_first_token(dictionary.entries)
    tagged = []
    for doc in docs:
        matches = _tag_text(doc.text, dictionary, lengths_by_first)
        entities = [
            Entity(
                f"{id_prefix}{index}",
                match.type,
                doc.text[match.start : match.end],
                [(match.start, match.end)],
            )
            for index, match in enumerate(matches, start=1)
        ]
        tagged.append(
            replace(
                doc,
                passages=list(doc.passages),
                entities=entities,
                relations=[],
                sentences=list(doc.sentences),
                attributes=dict(doc.attributes),
            )
        )
    return tagged
