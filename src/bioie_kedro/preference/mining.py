"""Preference pairs mined from a model's own wrong answers (MFPEA-style), and checks on user pairs.

``../shared/METHODS.md`` A, DFPO stage 2: a pair is (prompt, chosen, rejected), chosen the gold
answer, rejected an answer the model itself generated that is wrong. The inputs are plain
structures (:class:`MiningCandidate`), so this module does not care how the answers were generated.

**Error kinds.** :func:`classify_errors` compares one parsed answer with gold at the string level
(no offsets), as multisets of units — (type, mention) for NER, (relation, (head, tail)) for RE,
the units of :func:`bioie_kedro.metrics.strings.answer_units`, so a mention listed twice in gold
must be predicted twice. Exact matches are taken out first; the rest is paired off greedily, in
this order (each step consumes one predicted and one gold unit):

1. ``direction`` (RE) — same relation, head and tail swapped;
2. ``type`` — the same item under another key (another entity type or relation name; for RE with
   the pair swapped it is ``type`` and ``direction``);
3. ``boundary`` — same key, the items share a word but differ ("breast cancer" vs "cancer"; for
   RE, head and tail each equal or sharing a word with gold's);
4. ``type`` + ``boundary`` — another key *and* overlapping but different items.

A predicted unit left over is a ``boundary`` error when it shares a word with some gold item (an
extra, mis-bounded mention), otherwise a ``false_positive`` (also an extra copy of a gold item:
over-prediction). A gold unit left over is ``missed``. An unparsable answer (``None``) is
``format`` and nothing else. Words are ``\\w+`` runs, lower-cased.

**Pairs.** :func:`mine_pairs` turns every wrong answer into a pair, drops answers equal to gold,
rejected texts equal to the chosen text and repeated (prompt, rejected) texts, then balances the
pairs by their primary kind (the first of :data:`ERROR_KINDS` present) and reports every count.

**User pairs.** :func:`read_user_pairs` checks rows of TRL's prompt / chosen / rejected columns
and names the source and line of every problem.
"""

from __future__ import annotations

import json
import math
import random
import re
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from bioie_kedro.metrics.strings import answer_units

Task = Literal["ner", "re"]

#: Error kinds in priority order: the first one an answer shows is its primary kind.
ERROR_KINDS: tuple[str, ...] = (
    "format",
    "type",
    "boundary",
    "direction",
    "false_positive",
    "missed",
)

# A unit: (key, item); the item is a mention (NER) or a (head, tail) tuple (RE).
_Unit = tuple[str, Any]
_WORD = re.compile(r"\w+")


@dataclass(frozen=True)
class MiningCandidate:
    """One prompt, its gold answer and the model's answers to it.

    ``prompt`` is the text as served and ``chosen`` the gold answer rendered as the model should
    write it. ``gold`` is NER ``{type: [mention, ...]}`` or RE ``{relation: [[head, tail], ...]}``
    (``{"head": ..., "tail": ...}`` items also work). ``answers`` are ``(raw generated text,
    parsed answer)``, the parsed answer ``None`` when the text could not be parsed.
    """

    instance_id: str
    prompt: str
    chosen: str
    task: Task
    gold: dict[str, list]
    answers: tuple[tuple[str, dict[str, list] | None], ...]


def _words(text: str) -> frozenset[str]:
    return frozenset(_WORD.findall(text.lower()))


def _text_overlaps(a: str, b: str) -> bool:
    """Equal, or sharing at least one word."""
    return a == b or bool(_words(a) & _words(b))


def _item_overlaps(a: Any, b: Any) -> bool:
    """Mentions share a word; (head, tail) items overlap argument by argument."""
    if isinstance(a, str) and isinstance(b, str):
        return _text_overlaps(a, b)
    if isinstance(a, tuple) and isinstance(b, tuple) and len(a) == len(b):
        return all(_text_overlaps(x, y) for x, y in zip(a, b, strict=True))
    return False


def _swapped(item: Any) -> Any:
    """(tail, head) of a (head, tail) item; None for anything else."""
    if isinstance(item, tuple) and len(item) == 2:
        return (item[1], item[0])
    return None


def _units(answer: Mapping[str, Any]) -> list[_Unit]:
    """The answer's units with their multiplicities, in a fixed (sorted) order."""
    counts = answer_units(answer)
    return sorted(counts.elements(), key=repr)


def _pair_off(
    predicted: list[_Unit],
    gold: list[_Unit],
    matches: Callable[[_Unit, _Unit], bool],
) -> int:
    """Remove pairs (predicted, gold) for which ``matches`` holds, greedily; return how many."""
    paired = 0
    for pred_unit in list(predicted):
        for index, gold_unit in enumerate(gold):
            if matches(pred_unit, gold_unit):
                predicted.remove(pred_unit)
                del gold[index]
                paired += 1
                break
    return paired


def classify_errors(
    gold: Mapping[str, Any], predicted: Mapping[str, Any] | None, task: Task
) -> list[str]:
    """The error kinds of one answer against gold, in :data:`ERROR_KINDS` order; ``[]`` if correct.

    See the module docstring for the rules. ``task`` is ``"ner"`` or ``"re"``; only RE answers
    can show ``direction``.
    """
    if task not in ("ner", "re"):
        raise ValueError(f"task must be 'ner' or 're', got {task!r}")
    if predicted is None:
        return ["format"]
    gold_left = _units(gold)
    all_gold = list(gold_left)
    predicted_left = _units(predicted)
    exact = Counter(gold_left) & Counter(predicted_left)
    for unit in exact.elements():
        gold_left.remove(unit)
        predicted_left.remove(unit)

    kinds: set[str] = set()
    is_re = task == "re"

    def same_key(p: _Unit, g: _Unit) -> bool:
        return p[0] == g[0]

    if is_re and _pair_off(
        predicted_left, gold_left, lambda p, g: same_key(p, g) and _swapped(p[1]) == g[1]
    ):
        kinds.add("direction")
    if _pair_off(predicted_left, gold_left, lambda p, g: not same_key(p, g) and p[1] == g[1]):
        kinds.add("type")
    if is_re and _pair_off(
        predicted_left, gold_left, lambda p, g: not same_key(p, g) and _swapped(p[1]) == g[1]
    ):
        kinds.update(("type", "direction"))
    if _pair_off(
        predicted_left, gold_left, lambda p, g: same_key(p, g) and _item_overlaps(p[1], g[1])
    ):
        kinds.add("boundary")
    if is_re and _pair_off(
        predicted_left,
        gold_left,
        lambda p, g: same_key(p, g) and _item_overlaps(_swapped(p[1]), g[1]),
    ):
        kinds.update(("boundary", "direction"))
    if _pair_off(
        predicted_left, gold_left, lambda p, g: not same_key(p, g) and _item_overlaps(p[1], g[1])
    ):
        kinds.update(("type", "boundary"))

    for _key, item in predicted_left:
        overlaps_gold = any(
            item != gold_item and _item_overlaps(item, gold_item) for _, gold_item in all_gold
        )
        kinds.add("boundary" if overlaps_gold else "false_positive")
    if gold_left:
        kinds.add("missed")
    return [kind for kind in ERROR_KINDS if kind in kinds]


def _same_extraction(gold: Mapping[str, Any], predicted: Mapping[str, Any]) -> bool:
    return answer_units(gold) == answer_units(predicted)


def _kind_counts(kind_lists: Iterable[Sequence[str]]) -> dict[str, int]:
    counts = Counter(kind for kinds in kind_lists for kind in kinds)
    return {kind: counts[kind] for kind in ERROR_KINDS}


def _round_robin(groups: Sequence[Sequence[int]], limit: int) -> list[int]:
    """Take one item from each group in turn until ``limit`` items are taken."""
    taken: list[int] = []
    depth = 0
    while len(taken) < limit and any(depth < len(group) for group in groups):
        for group in groups:
            if depth < len(group) and len(taken) < limit:
                taken.append(group[depth])
        depth += 1
    return taken


def mine_pairs(
    candidates: Iterable[MiningCandidate],
    *,
    seed: int,
    max_pairs: int | None = None,
    balance: bool = True,
    balance_factor: float = 3.0,
    max_per_kind: int | None = None,
    balance_floor: int = 1,
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Preference pairs from the model's wrong answers, and a report of every count.

    Every answer whose parsed extraction differs from gold (multiset compare; unparsable answers
    included) becomes ``{"prompt", "chosen", "rejected", "instance_id", "task", "error_kinds",
    "primary_kind"}``. Dropped, and counted: answers equal to gold (``correct_answers``), rejected
    texts equal to the chosen one after stripping white space, repeats of a (prompt, rejected)
    text (the first is kept).

    **Balancing** by primary kind (``balance=True``): each kind keeps at most ``max_per_kind``
    pairs when that is given, otherwise ``ceil(balance_factor × the smallest non-empty kind's
    count)`` — so no kind outnumbers the rarest by more than ``balance_factor`` (3 by default:
    the rare kinds keep all their pairs and a dominant kind, typically ``missed``, cannot crowd
    them out). A very rare kind shrinks every other kind: ``balance_floor`` stops that (the cap is
    then ``ceil(balance_factor × max(smallest count, balance_floor))``, so a kind of 1 pair no
    longer cuts every other kind to 3); the report shows the cap, and ``max_per_kind`` sets it
    directly. ``max_pairs`` then takes pairs from the kinds in turn
    (round robin), so the result stays balanced. Which pairs of a kind are kept is a seeded
    random choice (per kind, so one kind's count does not change another's choice); the pairs
    come out in input order. Deterministic for fixed inputs and ``seed``.
    """
    if balance_factor < 1:
        raise ValueError(f"balance_factor must be >= 1, got {balance_factor}")
    if max_per_kind is not None and max_per_kind < 1:
        raise ValueError(f"max_per_kind must be >= 1 or None, got {max_per_kind}")
    if max_pairs is not None and max_pairs < 0:
        raise ValueError(f"max_pairs must be >= 0 or None, got {max_pairs}")
    if balance_floor < 1:
        raise ValueError(f"balance_floor must be >= 1, got {balance_floor}")

    n_candidates = n_answers = n_correct = n_unparsable = n_equal_chosen = n_duplicates = 0
    mined: list[dict[str, Any]] = []
    deduplicated: list[dict[str, Any]] = []
    seen: set[tuple[str, str]] = set()
    for candidate in candidates:
        n_candidates += 1
        for rejected, parsed in candidate.answers:
            n_answers += 1
            if parsed is None:
                n_unparsable += 1
            elif _same_extraction(candidate.gold, parsed):
                n_correct += 1
                continue
            if rejected.strip() == candidate.chosen.strip():
                n_equal_chosen += 1
                continue
            kinds = classify_errors(candidate.gold, parsed, candidate.task)
            pair = {
                "prompt": candidate.prompt,
                "chosen": candidate.chosen,
                "rejected": rejected,
                "instance_id": candidate.instance_id,
                "task": candidate.task,
                "error_kinds": kinds,
                "primary_kind": kinds[0],
            }
            mined.append(pair)
            key = (candidate.prompt, rejected)
            if key in seen:
                n_duplicates += 1
                continue
            seen.add(key)
            deduplicated.append(pair)

    by_kind: dict[str, list[int]] = {kind: [] for kind in ERROR_KINDS}
    for index, pair in enumerate(deduplicated):
        by_kind[pair["primary_kind"]].append(index)
    cap: int | None = None
    if balance:
        if max_per_kind is not None:
            cap = max_per_kind
        else:
            sizes = [len(indices) for indices in by_kind.values() if indices]
            cap = math.ceil(balance_factor * max(min(sizes), balance_floor)) if sizes else None
    groups = []
    for kind, indices in by_kind.items():
        shuffled = list(indices)
        random.Random(f"{seed}:{kind}").shuffle(shuffled)
        groups.append(shuffled if cap is None else shuffled[:cap])
    limit = sum(len(group) for group in groups)
    if max_pairs is not None:
        limit = min(limit, max_pairs)
    kept = [deduplicated[index] for index in sorted(_round_robin(groups, limit))]

    report = {
        "seed": seed,
        "candidates": n_candidates,
        "answers": n_answers,
        "correct_answers": n_correct,
        "unparsable_answers": n_unparsable,
        "rejected_equals_chosen": n_equal_chosen,
        "duplicates_removed": n_duplicates,
        "balance": {
            "enabled": balance,
            "balance_factor": balance_factor,
            "max_per_kind": max_per_kind,
            "balance_floor": balance_floor,
            "cap_per_kind": cap,
        },
        "max_pairs": max_pairs,
        # An answer counts once under every kind it shows here...
        "error_kinds": {
            "mined": _kind_counts(pair["error_kinds"] for pair in mined),
            "deduplicated": _kind_counts(pair["error_kinds"] for pair in deduplicated),
            "kept": _kind_counts(pair["error_kinds"] for pair in kept),
        },
        # ...and once, under its primary kind, here.
        "primary_kinds": {
            "mined": _kind_counts([pair["primary_kind"]] for pair in mined),
            "deduplicated": _kind_counts([pair["primary_kind"]] for pair in deduplicated),
            "kept": _kind_counts([pair["primary_kind"]] for pair in kept),
        },
        "pairs_mined": len(mined),
        "pairs_deduplicated": len(deduplicated),
        "pairs": len(kept),
    }
    return kept, report


_PAIR_COLUMNS = ("prompt", "chosen", "rejected")
_MAX_LISTED_PROBLEMS = 20


class PreferencePairsError(ValueError):
    """User-provided preference pairs that cannot be used; the message lists every bad line."""


def _row_problems(row: object) -> list[str]:
    if not isinstance(row, Mapping):
        return [f"expected a JSON object with {list(_PAIR_COLUMNS)}, got {type(row).__name__}"]
    problems = []
    for column in _PAIR_COLUMNS:
        if column not in row:
            problems.append(f"missing column {column!r}")
        elif not isinstance(row[column], str):
            problems.append(
                f"column {column!r} must be a string, got {type(row[column]).__name__}"
                " (conversational pairs are not supported here)"
            )
        elif not row[column].strip():
            problems.append(f"column {column!r} is empty")
    return problems


def read_user_pairs(
    records: Iterable[Mapping[str, Any] | str], *, source_name: str
) -> tuple[list[dict[str, str]], dict[str, Any]]:
    """Check user-provided preference pairs and return them as TRL rows, with a report.

    ``records`` are the file's rows in order, one per line (line numbers count from 1): parsed
    JSON objects, or raw JSONL lines, which are parsed here so a JSON error is reported with its
    line too. Each row needs non-empty string columns ``prompt``, ``chosen`` and ``rejected``
    (TRL's standard preference format). Every problem is collected and raised together as a
    :class:`PreferencePairsError` naming ``source_name`` and the line. Nothing is dropped
    silently: rows whose chosen equals rejected are skipped and listed in the report, blank raw
    lines are counted, other columns are dropped and named in the report (``instance_id``, when a
    string, is kept; otherwise it becomes ``"<source_name>:<line>"``).
    """
    problems: list[str] = []
    pairs: list[dict[str, str]] = []
    identical_lines: list[int] = []
    ignored_columns: set[str] = set()
    blank_lines = rows = 0
    for line, raw in enumerate(records, start=1):
        record = raw
        if isinstance(raw, str):
            if not raw.strip():
                blank_lines += 1
                continue
            try:
                record = json.loads(raw)
            except json.JSONDecodeError as error:
                problems.append(f"{source_name}: line {line}: not valid JSON ({error.msg})")
                continue
        rows += 1
        row_problems = _row_problems(record)
        if row_problems:
            problems.extend(f"{source_name}: line {line}: {problem}" for problem in row_problems)
            continue
        if record["chosen"] == record["rejected"]:
            identical_lines.append(line)
            continue
        instance_id = record.get("instance_id")
        pairs.append(
            {
                "prompt": record["prompt"],
                "chosen": record["chosen"],
                "rejected": record["rejected"],
                "instance_id": (
                    instance_id if isinstance(instance_id, str) else f"{source_name}:{line}"
                ),
            }
        )
        ignored_columns.update(key for key in record if key not in (*_PAIR_COLUMNS, "instance_id"))

    if problems:
        listed = problems[:_MAX_LISTED_PROBLEMS]
        more = len(problems) - len(listed)
        raise PreferencePairsError(
            f"{len(problems)} problem(s) in preference pairs from {source_name}:\n  "
            + "\n  ".join(listed)
            + (f"\n  ... and {more} more" if more else "")
        )
    report = {
        "source": source_name,
        "rows": rows,
        "blank_lines": blank_lines,
        "pairs": len(pairs),
        "skipped_chosen_equals_rejected": len(identical_lines),
        "skipped_lines": identical_lines,
        "ignored_columns": sorted(ignored_columns),
    }
    return pairs, report
