"""Strict reading of model completions into answers, shared by every instruction format.

Nothing is ever evaluated as code. A completion is read in four steps:

1. **Find the answer's JSON value.** The first top-level JSON value of the format's shape (an
   object for IEPile, a list for the conversation and listing formats), read with the ``json``
   module. Text before or after it is ``prose_around_json``; JSON values of another shape before
   it count as prose; if only such values exist the output is ``wrong_shape``. A bracketed value
   that is not JSON is tried with :func:`ast.literal_eval` (``python_literal``: single quotes,
   trailing commas). A copy of the answer's block after it (or a cut-off copy) is
   ``repeated_output`` and ignored.
2. **Recover a cut-off value.** When the value runs into the end of the output, a small strict
   reader (JSON grammar only) keeps every complete item and every list that was still open
   (``truncated``); a partly written item is dropped. With no complete item (and, for an object,
   no closed key), the output is unparsable.
3. **Check keys and items.** Keys map back from shown names to schema keys (``unknown_key`` when
   not among the instance's keys; the first of a repeated key wins, ``repeated_output``); a value
   must be a list, an item a non-empty string (NER) or a head/tail pair (RE), else
   ``wrong_item_type``. A complete object that lacks an instance key is ``missing_key``.
4. **Check against the document** (when its text is given). A mention (or a pair's head or tail)
   that does not occur in the text as written (case-sensitive), or that has white space around
   it, is looked up again ignoring case and the spacing around punctuation, as a whole-word
   match: found, it takes the text's own surface form (``mention_restored``; the form that
   occurs most often, the first on a tie; a mention whose stripped form occurs verbatim keeps
   that form), so an uncased model's ``alzheimer ' s disease`` becomes the text's
   ``Alzheimer's disease`` and its ``" colorectal cancer "`` becomes ``colorectal cancer``. A
   mention still not found is dropped (``mention_not_in_text``). An item given more often than
   allowed is capped (``repeated_output``): RE pairs and deduplicated NER answers allow one copy;
   multiset NER answers allow as many copies as the mention occurs in the text (without the
   text, no cap).
"""

from __future__ import annotations

import ast
import json
import re
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from json.decoder import JSONDecodeError, scanstring
from typing import Literal

from bioie_kedro.prompting.base import ParsedAnswer

Shape = type[list] | type[dict]
#: How an RE item is written: IEPile's ``{"head": h, "tail": t}`` or the listing's ``[h, t]``.
PairStyle = Literal["dict", "list"]

_WHITESPACE = " \t\n\r"
_OPENERS = "{["
_CLOSER = {"{": "}", "[": "]"}
_NUMBER = re.compile(r"-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][-+]?\d+)?")
_LITERALS = {"true": True, "false": False, "null": None}
#: Openers tried before giving up: beyond this the output is bracket garbage, and scanning on
#: would cost time quadratic in its length.
MAX_CANDIDATES = 256


class _Invalid(Exception):
    """The text is not JSON at this point (as opposed to JSON cut off by the end of the text)."""


class _TooDeep(Exception):
    """Nesting beyond Python's recursion limit: degenerate output, not worth scanning further."""


class _JsonList(list):
    """A JSON array; ``partial`` when the text ended before it was closed."""

    partial = False


class _JsonDict(dict):
    """A JSON object; ``partial`` when cut off, ``repeated_keys`` when a key came twice."""

    partial = False
    repeated_keys = False


_MISSING = object()


def _object_pairs(pairs: list[tuple[str, object]]) -> _JsonDict:
    """``json`` object hook: keep the first value of a repeated key and remember the repeat."""
    out = _JsonDict()
    for key, value in pairs:
        if key in out:
            out.repeated_keys = True
        else:
            out[key] = value
    return out


_DECODER = json.JSONDecoder(object_pairs_hook=_object_pairs)


def _skip(text: str, index: int) -> int:
    while index < len(text) and text[index] in _WHITESPACE:
        index += 1
    return index


# --------------------------------------------------------------------------------------------
# A strict reader that tells "cut off by the end" from "not JSON"
# --------------------------------------------------------------------------------------------


def _read_value(text: str, index: int) -> tuple[object, int, bool]:
    """``(value, end, complete)``; an incomplete value ends the text. Raises ``_Invalid``."""
    index = _skip(text, index)
    if index >= len(text):
        return _MISSING, len(text), False
    char = text[index]
    if char == "{":
        return _read_object(text, index)
    if char == "[":
        return _read_array(text, index)
    if char == '"':
        return _read_string(text, index)
    return _read_scalar(text, index)


def _read_scalar(text: str, index: int) -> tuple[object, int, bool]:
    """A number, ``true``, ``false`` or ``null``; one running into the end may be cut off."""
    match = _NUMBER.match(text, index)
    if match:
        if match.end() == len(text):
            return _MISSING, len(text), False  # digits may continue
        return json.loads(match.group()), match.end(), True
    rest = text[index:]
    for word, value in _LITERALS.items():
        if rest.startswith(word):
            return value, index + len(word), True
    if rest == "-" or any(word.startswith(rest) for word in _LITERALS):
        return _MISSING, len(text), False
    raise _Invalid


def _read_string(text: str, index: int) -> tuple[object, int, bool]:
    try:
        value, end = scanstring(text, index + 1, True)
    except JSONDecodeError as error:
        if error.msg.startswith("Unterminated string") or '"' not in text[error.pos :]:
            return _MISSING, len(text), False
        raise _Invalid from None
    return value, end, True


def _read_array(text: str, index: int) -> tuple[object, int, bool]:
    out = _JsonList()
    index = _skip(text, index + 1)
    if index < len(text) and text[index] == "]":
        return out, index + 1, True
    while True:
        value, index, complete = _read_value(text, index)
        if not complete:
            if isinstance(value, _JsonList | _JsonDict):
                out.append(value)  # an open container; the caller decides what it is worth
            out.partial = True
            return out, len(text), False
        out.append(value)
        index = _skip(text, index)
        if index >= len(text):
            out.partial = True
            return out, len(text), False
        if text[index] == "]":
            return out, index + 1, True
        if text[index] != ",":
            raise _Invalid
        index = _skip(text, index + 1)
        if index < len(text) and text[index] == "]":
            raise _Invalid  # trailing comma: not JSON


def _read_object(text: str, index: int) -> tuple[object, int, bool]:
    out = _JsonDict()
    index = _skip(text, index + 1)
    if index < len(text) and text[index] == "}":
        return out, index + 1, True
    while True:
        index = _skip(text, index)
        if index >= len(text):
            out.partial = True
            return out, len(text), False
        if text[index] != '"':
            raise _Invalid
        key, index, complete = _read_string(text, index)
        index = _skip(text, index)
        if not complete or index >= len(text):
            out.partial = True
            return out, len(text), False
        if text[index] != ":":
            raise _Invalid
        value, index, complete = _read_value(text, index + 1)
        if not complete:
            if isinstance(value, _JsonList | _JsonDict) and key not in out:
                out[key] = value
            out.partial = True
            return out, len(text), False
        if key in out:
            out.repeated_keys = True
        else:
            out[key] = value
        index = _skip(text, index)
        if index >= len(text):
            out.partial = True
            return out, len(text), False
        if text[index] == "}":
            return out, index + 1, True
        if text[index] != ",":
            raise _Invalid
        index += 1


def _read_at(text: str, index: int) -> tuple[object, int, bool]:
    """The value starting at ``text[index]``: complete via :mod:`json`, else the strict reader."""
    try:
        value, end = _DECODER.raw_decode(text, index)
        return value, end, True
    except JSONDecodeError:
        pass
    except RecursionError:
        raise _TooDeep from None
    try:
        value, end, complete = _read_value(text, index)
    except RecursionError:
        raise _TooDeep from None
    if complete:  # the strict reader accepted what json rejected: do not trust it
        raise _Invalid
    return value, end, complete


def _balanced_end(text: str, index: int) -> int | None:
    """End of the bracketed span opening at ``text[index]`` (quotes ``'`` and ``"`` respected)."""
    expected: list[str] = []
    quote: str | None = None
    position = index
    while position < len(text):
        char = text[position]
        if quote is not None:
            if char == "\\":
                position += 2
                continue
            if char == quote:
                quote = None
        elif char in "\"'":
            quote = char
        elif char in _CLOSER:
            expected.append(_CLOSER[char])
        elif char in "]}":
            if not expected or expected.pop() != char:
                return None
            if not expected:
                return position + 1
        position += 1
    return None


def _python_literal(snippet: str) -> object:
    try:
        return ast.literal_eval(snippet)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return _MISSING


@dataclass(slots=True)
class Extraction:
    """The answer's top-level value found in a completion, and what was noticed on the way."""

    value: list | dict | None
    problems: list[str] = field(default_factory=list)
    truncated: bool = False


def extract_json(text: str, shape: Shape) -> Extraction:
    """The first top-level value of ``shape`` (``list`` or ``dict``) in ``text`` (steps 1-2)."""
    if not text.strip():
        return Extraction(None, ["empty_output"])
    wrong_shape = False
    position = 0
    for _ in range(MAX_CANDIDATES):
        starts = [i for i in (text.find(c, position) for c in _OPENERS) if i >= 0]
        if not starts:
            break
        start = min(starts)
        try:
            value, end, complete = _read_at(text, start)
        except _TooDeep:
            break
        except _Invalid:
            end = _balanced_end(text, start)
            if end is None:
                position = start + 1
                continue
            literal = _python_literal(text[start:end])
            if isinstance(literal, shape):
                return _found(text, literal, start, end, ["python_literal"], truncated=False)
            wrong_shape = wrong_shape or literal is not _MISSING
            position = end
            continue
        if isinstance(value, shape):
            return _found(text, value, start, end, [], truncated=not complete)
        wrong_shape = True
        if not complete:
            break
        position = end
    return Extraction(None, ["wrong_shape" if wrong_shape else "no_json"])


def _found(
    text: str, value: object, start: int, end: int, problems: list[str], *, truncated: bool
) -> Extraction:
    if text[:start].strip():
        problems.append("prose_around_json")
    if truncated:
        problems.append("truncated")
    else:
        problems.extend(_after_answer(text, start, end, value))
    return Extraction(value, problems, truncated)  # type: ignore[arg-type]


def _after_answer(text: str, start: int, end: int, value: object) -> list[str]:
    """Problems in the text after the answer: copies of its block, or anything else."""
    block = text[start:end]
    problems: list[str] = []
    position = _skip(text, end)
    while position < len(text):
        rest = text[position:]
        if rest.startswith(block):
            problems.append("repeated_output")
            position = _skip(text, position + len(block))
            continue
        if block.startswith(rest.rstrip()):  # a copy cut off by the end of the output
            problems.append("repeated_output")
            break
        if rest[0] in _OPENERS:
            try:
                copy, copy_end, complete = _read_at(text, position)
            except (_Invalid, _TooDeep):
                copy, complete = _MISSING, False
            if complete and copy == value:
                problems.append("repeated_output")
                position = _skip(text, copy_end)
                continue
        problems.append("prose_around_json")
        break
    return problems


# --------------------------------------------------------------------------------------------
# Items, keys and the document
# --------------------------------------------------------------------------------------------


def _is_partial(item: object) -> bool:
    return bool(getattr(item, "partial", False))


def _mention(item: object) -> str | None:
    return item if isinstance(item, str) and item.strip() else None


def _pair(item: object, style: PairStyle) -> list[str] | None:
    if style == "dict":
        if not isinstance(item, Mapping):
            return None
        head, tail = item.get("head"), item.get("tail")
    else:
        if not isinstance(item, list | tuple) or len(item) != 2:
            return None
        head, tail = item
    if _mention(head) is None or _mention(tail) is None:
        return None
    return [head, tail]  # type: ignore[list-item]


def _items(value: object, read: Callable[[object], object | None], problems: list[str]) -> list:
    """The valid items of one key's value; a cut-off item is dropped without a problem code."""
    if not isinstance(value, list):
        problems.append("wrong_item_type")
        return []
    items = []
    for item in value:
        if _is_partial(item):
            continue
        parsed = read(item)
        if parsed is None:
            problems.append("wrong_item_type")
        else:
            items.append(parsed)
    return items


def _occurrences(text: str, mention: str) -> int:
    """How often ``mention`` occurs in ``text``, overlapping occurrences included."""
    count, position = 0, text.find(mention)
    while position >= 0:
        count += 1
        position = text.find(mention, position + 1)
    return count


_SURFACE_TOKEN = re.compile(r"\w+|[^\w\s]")


def _surface_pattern(mention: str) -> re.Pattern[str] | None:
    """A case-insensitive whole-word pattern for ``mention`` with free spacing at punctuation.

    Two word tokens need white space between them (any amount); next to punctuation, white space
    is optional. ``None`` for a mention without tokens.
    """
    tokens = _SURFACE_TOKEN.findall(mention)
    if not tokens:
        return None

    def is_word(token: str) -> bool:
        return bool(re.match(r"\w", token))

    parts = [r"(?<!\w)" if is_word(tokens[0]) else ""]
    for index, token in enumerate(tokens):
        if index:
            parts.append(r"\s+" if is_word(tokens[index - 1]) and is_word(token) else r"\s*")
        parts.append(re.escape(token))
    parts.append(r"(?!\w)" if is_word(tokens[-1]) else "")
    return re.compile("".join(parts), re.IGNORECASE)


def surface_form(mention: str, text: str) -> str | None:
    """The text's own spelling of ``mention`` (see step 4 of the module notes), or ``None``."""
    pattern = _surface_pattern(mention)
    if pattern is None:
        return None
    forms = Counter(match.group(0) for match in pattern.finditer(text))
    if not forms:
        return None
    return forms.most_common(1)[0][0]  # Counter keeps first-seen order among equal counts


def _check_against_text(
    answer: dict[str, list],
    *,
    task: str,
    dedupe: bool,
    document_text: str | None,
    problems: list[str],
) -> None:
    """Step 4, in place: restore or drop mentions absent from the text, cap repeated items."""
    occurrences: dict[str, int] = {}
    restored: dict[str, str | None] = {}

    def count(mention: str) -> int:
        if mention not in occurrences:
            occurrences[mention] = _occurrences(document_text or "", mention)
        return occurrences[mention]

    def in_text(mention: str) -> str | None:
        # white space around a mention is never part of it: a WordPiece decoder writes
        # `" colorectal cancer "`, which occurs verbatim in the text, spaces and all
        stripped = mention.strip()
        if count(stripped) > 0:
            return stripped
        if mention not in restored:
            restored[mention] = surface_form(mention, document_text or "")
        return restored[mention]

    for key, given in answer.items():
        items = given
        if document_text is not None:
            items = []
            for item in given:
                mentions = item if task == "re" else [item]
                found = [in_text(mention) for mention in mentions]
                if any(form is None for form in found):
                    problems.append("mention_not_in_text")
                    continue
                if found != list(mentions):
                    problems.append("mention_restored")
                items.append(found if task == "re" else found[0])
        seen: Counter = Counter()
        capped = []
        for item in items:
            unit = tuple(item) if task == "re" else item
            if task == "re" or dedupe:
                allowed = 1
            elif document_text is not None:
                allowed = count(item)
            else:
                allowed = len(items)
            if seen[unit] >= allowed:
                problems.append("repeated_output")
                continue
            seen[unit] += 1
            capped.append(item)
        answer[key] = capped


def _result(answer: dict[str, list] | None, problems: list[str]) -> ParsedAnswer:
    codes = tuple(dict.fromkeys(problems))
    if answer is None:
        return ParsedAnswer(None, "unparsable", codes)
    return ParsedAnswer(answer, "repaired" if codes else "ok", codes)


def _reader(task: str, pair_style: PairStyle) -> Callable[[object], object | None]:
    if task == "ner":
        return _mention
    return lambda item: _pair(item, pair_style)


def parse_keyed(
    text: str,
    *,
    keys: Sequence[str],
    labels: Mapping[str, str],
    task: str,
    dedupe: bool,
    document_text: str | None,
    pair_style: PairStyle = "dict",
) -> ParsedAnswer:
    """Read an object answer ``{shown name: [items]}`` (IEPile) into ``{key: [items]}``.

    Args:
        text: the completion.
        keys: the instance's schema keys, in answer order.
        labels: ``{shown name: schema key}`` for the instance's keys.
        task: ``"ner"`` (string items) or ``"re"`` (head/tail pairs).
        dedupe: NER answers list each mention once.
        document_text: the text the prompt asked about; enables step 4's checks.
        pair_style: how an RE item is written.
    """
    found = extract_json(text, dict)
    problems = found.problems
    if found.value is None:
        return _result(None, problems)
    value: dict = found.value  # type: ignore[assignment]
    if getattr(value, "repeated_keys", False):
        problems.append("repeated_output")
    read = _reader(task, pair_style)
    answer: dict[str, list] = {key: [] for key in keys}
    present: set[str] = set()
    closed_keys = 0
    for shown, items in value.items():
        key = labels.get(shown)
        if key is None or key not in answer:
            problems.append("unknown_key")
            continue
        partial = _is_partial(items)
        valid = _items(items, read, problems)
        if partial and not valid:
            continue  # the key the output was cut in: nothing of it is usable
        present.add(key)
        closed_keys += not partial
        answer[key] = valid
    recovered = sum(len(items) for items in answer.values())
    if found.truncated and recovered == 0 and closed_keys == 0:
        return _result(None, problems)
    if not found.truncated and len(present) < len(answer):
        problems.append("missing_key")
    _check_against_text(
        answer, task=task, dedupe=dedupe, document_text=document_text, problems=problems
    )
    return _result(answer, problems)


def parse_single(
    text: str,
    *,
    key: str,
    task: str,
    dedupe: bool,
    document_text: str | None,
    pair_style: PairStyle = "list",
) -> ParsedAnswer:
    """Read a list answer ``[items]`` (conversation, listing) into ``{key: [items]}``.

    Arguments as for :func:`parse_keyed`; ``key`` is the one schema key the instance asks.
    """
    found = extract_json(text, list)
    problems = found.problems
    if found.value is None:
        return _result(None, problems)
    items = _items(found.value, _reader(task, pair_style), problems)
    if found.truncated and not items:
        return _result(None, problems)
    answer = {key: items}
    _check_against_text(
        answer, task=task, dedupe=dedupe, document_text=document_text, problems=problems
    )
    return _result(answer, problems)
