"""Malformed model outputs, per format: status, problem codes, what is kept, and the report."""

from __future__ import annotations

import random
import time
from collections import Counter

import pytest

from bioie_kedro.prompting import (
    ConversationSettings,
    IEPileSettings,
    ListingSettings,
    get_format,
    parse_report,
)
from bioie_kedro.prompting.parsing import extract_json, surface_form
from tests.prompting.builders import CDR_TEXT, cdr_doc

DOC = cdr_doc()


def instance(kind: str):
    """The first instance of ``kind`` (format and task) rendered for the CDR document."""
    rng = random.Random(0)
    if kind == "iepile_ner":
        settings = IEPileSettings(
            entity_types=("Chemical", "Disease"), labels={"Chemical": "chemical"}
        )
        return get_format("iepile").render(DOC, task="ner", settings=settings, rng=rng)[0]
    if kind == "iepile_re":
        settings = IEPileSettings(relation_types=("CID",))
        return get_format("iepile").render(DOC, task="re", settings=settings, rng=rng)[0]
    if kind == "conversation":
        settings = ConversationSettings(entity_types=("Chemical",), all_types=True)
        return get_format("conversation").render(DOC, task="ner", settings=settings, rng=rng)[0]
    if kind == "listing_ner":
        settings = ListingSettings(entity_types=("Chemical",))
        return get_format("listing").render(DOC, task="ner", settings=settings, rng=rng)[0]
    settings = ListingSettings(relation_types=("CID",))
    return get_format("listing").render(DOC, task="re", settings=settings, rng=rng)[0]


def parse(kind: str, text: str, with_text: bool):
    inst = instance(kind)
    fmt = get_format(inst.format)
    return fmt.parse(text, inst, document_text=CDR_TEXT if with_text else None)


OK, REPAIRED, UNPARSABLE = "ok", "repaired", "unparsable"
IEPILE_OK = '{"chemical": ["aspirin"], "Disease": ["renal failure"]}'

# (kind, output, check against the text, status, problem codes, answer)
CASES = [
    # --- IEPile NER (the shown name of Chemical is "chemical") ---
    (
        "iepile_ner",
        IEPILE_OK,
        True,
        OK,
        set(),
        {"Chemical": ["aspirin"], "Disease": ["renal failure"]},
    ),
    (
        "iepile_ner",
        '{"chemical": ["Cisplatin", "aspirin"], "Disease": ["nephro',
        True,
        REPAIRED,
        {"truncated"},
        {"Chemical": ["Cisplatin", "aspirin"], "Disease": []},
    ),
    (
        "iepile_ner",
        '{"chemical": [], "Disease": ["renal failure", "nephro',
        True,
        REPAIRED,
        {"truncated"},
        {"Chemical": [], "Disease": ["renal failure"]},
    ),
    ("iepile_ner", '{"chemical": ["Cispl', True, UNPARSABLE, {"truncated"}, None),
    ("iepile_ner", '{"chem', True, UNPARSABLE, {"truncated"}, None),
    (
        "iepile_ner",
        f"Sure! Here is the answer:\n{IEPILE_OK}\nHope this helps.",
        True,
        REPAIRED,
        {"prose_around_json"},
        {"Chemical": ["aspirin"], "Disease": ["renal failure"]},
    ),
    (
        "iepile_ner",
        f"```json\n{IEPILE_OK}\n```",
        True,
        REPAIRED,
        {"prose_around_json"},
        {"Chemical": ["aspirin"], "Disease": ["renal failure"]},
    ),
    (
        "iepile_ner",
        '{"chemical": ["aspirin", 3, null, "", ["x"]], "Disease": {"renal failure": 1}}',
        True,
        REPAIRED,
        {"wrong_item_type"},
        {"Chemical": ["aspirin"], "Disease": []},
    ),
    (
        "iepile_ner",
        '{"chemical": "aspirin", "Disease": []}',
        True,
        REPAIRED,
        {"wrong_item_type"},
        {"Chemical": [], "Disease": []},
    ),
    (
        "iepile_ner",
        '{"chemical": [], "Disease": [], "Gene": ["BRCA1"], "Chemical": ["aspirin"]}',
        True,
        REPAIRED,
        {"unknown_key"},
        {"Chemical": [], "Disease": []},
    ),
    (
        "iepile_ner",
        '{"chemical": ["aspirin", "ibuprofen", "Aspirin"], "Disease": []}',
        True,
        REPAIRED,
        # "Aspirin" is restored to the text's "aspirin", which occurs once: the copy is capped
        {"mention_not_in_text", "mention_restored", "repeated_output"},
        {"Chemical": ["aspirin"], "Disease": []},
    ),
    (
        "iepile_ner",
        '{"chemical": ["aspirin", "ibuprofen"], "Disease": []}',
        False,
        OK,
        set(),
        {"Chemical": ["aspirin", "ibuprofen"], "Disease": []},
    ),
    (
        "iepile_ner",
        '{"chemical": ["aspirin", "aspirin", "aspirin"], "Disease": []}',
        True,
        REPAIRED,
        {"repeated_output"},
        {"Chemical": ["aspirin"], "Disease": []},
    ),
    (
        "iepile_ner",
        IEPILE_OK + "\n" + IEPILE_OK,
        True,
        REPAIRED,
        {"repeated_output"},
        {"Chemical": ["aspirin"], "Disease": ["renal failure"]},
    ),
    (
        "iepile_ner",
        IEPILE_OK + IEPILE_OK[:17],
        True,
        REPAIRED,
        {"repeated_output"},
        {"Chemical": ["aspirin"], "Disease": ["renal failure"]},
    ),
    (
        "iepile_ner",
        '{"chemical": ["aspirin"], "chemical": ["Cisplatin"], "Disease": []}',
        True,
        REPAIRED,
        {"repeated_output"},
        {"Chemical": ["aspirin"], "Disease": []},
    ),
    (
        "iepile_ner",
        IEPILE_OK + '\n{"chemical": []}',
        True,
        REPAIRED,
        {"prose_around_json"},
        {"Chemical": ["aspirin"], "Disease": ["renal failure"]},
    ),
    (
        "iepile_ner",
        "{'chemical': ['aspirin'], 'Disease': [],}",
        True,
        REPAIRED,
        {"python_literal"},
        {"Chemical": ["aspirin"], "Disease": []},
    ),
    (
        "iepile_ner",
        '{"chemical": ["aspirin"]}',
        True,
        REPAIRED,
        {"missing_key"},
        {"Chemical": ["aspirin"], "Disease": []},
    ),
    ("iepile_ner", '["aspirin"]', True, UNPARSABLE, {"wrong_shape"}, None),
    ("iepile_ner", "No chemicals or diseases here.", True, UNPARSABLE, {"no_json"}, None),
    ("iepile_ner", "", True, UNPARSABLE, {"empty_output"}, None),
    ("iepile_ner", " \n\t", True, UNPARSABLE, {"empty_output"}, None),
    # --- IEPile RE ---
    (
        "iepile_re",
        '{"CID": [{"head": "aspirin", "tail": "renal failure"}]}',
        True,
        OK,
        set(),
        {"CID": [["aspirin", "renal failure"]]},
    ),
    (
        "iepile_re",
        '{"CID": [{"head": "Cisplatin", "tail": "renal failure"}, {"head": "aspirin", "ta',
        True,
        REPAIRED,
        {"truncated"},
        {"CID": [["Cisplatin", "renal failure"]]},
    ),
    ("iepile_re", '{"CID": [{"head": "aspirin", "ta', True, UNPARSABLE, {"truncated"}, None),
    (
        "iepile_re",
        'Answer: {"CID": [{"head": "aspirin", "tail": "renal failure"}]} (from the abstract)',
        True,
        REPAIRED,
        {"prose_around_json"},
        {"CID": [["aspirin", "renal failure"]]},
    ),
    (
        "iepile_re",
        '{"CID": [{"head": "aspirin"}, ["aspirin", "renal failure"], {"head": 1, "tail": "x"},'
        ' {"head": "aspirin", "tail": "renal failure"}]}',
        True,
        REPAIRED,
        {"wrong_item_type"},
        {"CID": [["aspirin", "renal failure"]]},
    ),
    (
        "iepile_re",
        '{"CID": [], "treats": [{"head": "aspirin", "tail": "renal failure"}]}',
        True,
        REPAIRED,
        {"unknown_key"},
        {"CID": []},
    ),
    (
        "iepile_re",
        '{"CID": [{"head": "aspirin", "tail": "headache"}]}',
        True,
        REPAIRED,
        {"mention_not_in_text"},
        {"CID": []},
    ),
    (
        "iepile_re",
        '{"CID": [{"head": "aspirin", "tail": "renal failure"}, '
        '{"head": "aspirin", "tail": "renal failure"}]}',
        False,
        REPAIRED,
        {"repeated_output"},
        {"CID": [["aspirin", "renal failure"]]},
    ),
    ("iepile_re", "", False, UNPARSABLE, {"empty_output"}, None),
    # --- conversation (one type, deduplicated answers) ---
    (
        "conversation",
        '["Cisplatin", "aspirin"]',
        True,
        OK,
        set(),
        {"Chemical": ["Cisplatin", "aspirin"]},
    ),
    (
        "conversation",
        '["Cisplatin", "aspirin", "cispl',
        True,
        REPAIRED,
        {"truncated"},
        {"Chemical": ["Cisplatin", "aspirin"]},
    ),
    ("conversation", '["Cispl', True, UNPARSABLE, {"truncated"}, None),
    ("conversation", '["Cisplatin", ', True, REPAIRED, {"truncated"}, {"Chemical": ["Cisplatin"]}),
    (
        "conversation",
        'The chemicals are ["aspirin"].',
        True,
        REPAIRED,
        {"prose_around_json"},
        {"Chemical": ["aspirin"]},
    ),
    (
        "conversation",
        '["aspirin", 5, ["x"], {"a": 1}, true]',
        True,
        REPAIRED,
        {"wrong_item_type"},
        {"Chemical": ["aspirin"]},
    ),
    ("conversation", '{"Chemical": ["aspirin"]}', True, UNPARSABLE, {"wrong_shape"}, None),
    (
        "conversation",
        '["aspirin", "ibuprofen"]',
        True,
        REPAIRED,
        {"mention_not_in_text"},
        {"Chemical": ["aspirin"]},
    ),
    (
        "conversation",
        '["aspirin", "aspirin", "aspirin"]',
        False,
        REPAIRED,
        {"repeated_output"},
        {"Chemical": ["aspirin"]},
    ),
    (
        "conversation",
        '["aspirin"]\n["aspirin"]\n["asp',
        True,
        REPAIRED,
        {"repeated_output"},
        {"Chemical": ["aspirin"]},
    ),
    (
        "conversation",
        "['aspirin', 'Cisplatin']",
        True,
        REPAIRED,
        {"python_literal"},
        {"Chemical": ["aspirin", "Cisplatin"]},
    ),
    ("conversation", "[]", True, OK, set(), {"Chemical": []}),
    ("conversation", "", True, UNPARSABLE, {"empty_output"}, None),
    # --- listing NER (multiset answers) ---
    (
        "listing_ner",
        '["Cisplatin", "Cisplatin", "aspirin", "cisplatin"]',
        True,
        OK,
        set(),
        {"Chemical": ["Cisplatin", "Cisplatin", "aspirin", "cisplatin"]},
    ),
    (
        "listing_ner",
        '["Cisplatin", "Cisplatin", "Cisplatin"]',
        True,
        REPAIRED,
        {"repeated_output"},
        {"Chemical": ["Cisplatin", "Cisplatin"]},
    ),
    (
        "listing_ner",
        '["Cisplatin", "Cisplatin", "Cisplatin"]',
        False,
        OK,
        set(),
        {"Chemical": ["Cisplatin", "Cisplatin", "Cisplatin"]},
    ),
    (
        "listing_ner",
        '["aspirin", "Cisplatin", "asp',
        True,
        REPAIRED,
        {"truncated"},
        {"Chemical": ["aspirin", "Cisplatin"]},
    ),
    (
        "listing_ner",
        'Output: ["aspirin"]\nExplanation: aspirin is a drug.',
        True,
        REPAIRED,
        {"prose_around_json"},
        {"Chemical": ["aspirin"]},
    ),
    (
        "listing_ner",
        '[null, "aspirin"]',
        True,
        REPAIRED,
        {"wrong_item_type"},
        {"Chemical": ["aspirin"]},
    ),
    ("listing_ner", '{"Chemical": []}', True, UNPARSABLE, {"wrong_shape"}, None),
    ("listing_ner", '["ASPIRIN"]', True, REPAIRED, {"mention_restored"}, {"Chemical": ["aspirin"]}),
    (
        "listing_ner",
        '["cisplatin - induced nephrotoxicity", "CISPLATIN INDUCED"]',
        True,
        REPAIRED,
        {"mention_restored"},
        {"Chemical": ["cisplatin-induced nephrotoxicity", "Cisplatin induced"]},
    ),
    # white space around a mention is dropped even where the padded mention occurs verbatim
    # (an uncased WordPiece decoder writes `" aspirin "`)
    (
        "listing_ner",
        '[" aspirin ", "Cisplatin "]',
        True,
        REPAIRED,
        {"mention_restored"},
        {"Chemical": ["aspirin", "Cisplatin"]},
    ),
    ("listing_ner", '[" aspirin "]', False, OK, set(), {"Chemical": [" aspirin "]}),
    # restoration matches whole words only ("platin" is inside "Cisplatin")
    ("listing_ner", '["PLATIN"]', True, REPAIRED, {"mention_not_in_text"}, {"Chemical": []}),
    ("listing_ner", '["ASPIRIN"]', False, OK, set(), {"Chemical": ["ASPIRIN"]}),
    ("listing_ner", "", True, UNPARSABLE, {"empty_output"}, None),
    # --- listing RE ([head, tail] pairs) ---
    (
        "listing_re",
        '[["aspirin", "renal failure"]]',
        True,
        OK,
        set(),
        {"CID": [["aspirin", "renal failure"]]},
    ),
    (
        "listing_re",
        '[["Cisplatin", "renal failure"], ["aspirin", "ren',
        True,
        REPAIRED,
        {"truncated"},
        {"CID": [["Cisplatin", "renal failure"]]},
    ),
    (
        "listing_re",
        '[["aspirin", "renal failure", "CID"], "aspirin", ["aspirin", "renal failure"]]',
        True,
        REPAIRED,
        {"wrong_item_type"},
        {"CID": [["aspirin", "renal failure"]]},
    ),
    (
        "listing_re",
        '[["aspirin", "renal failure"], ["aspirin", "renal failure"]]',
        True,
        REPAIRED,
        {"repeated_output"},
        {"CID": [["aspirin", "renal failure"]]},
    ),
    ("listing_re", '[["aspirin", "stroke"]]', True, REPAIRED, {"mention_not_in_text"}, {"CID": []}),
    (
        "listing_re",
        '[["ASPIRIN", "renal failure"]]',
        True,
        REPAIRED,
        {"mention_restored"},
        {"CID": [["aspirin", "renal failure"]]},
    ),
    (
        "listing_re",
        '[[" aspirin ", "renal failure"]]',
        True,
        REPAIRED,
        {"mention_restored"},
        {"CID": [["aspirin", "renal failure"]]},
    ),
    ("listing_re", "", True, UNPARSABLE, {"empty_output"}, None),
]


@pytest.mark.parametrize(("kind", "output", "with_text", "status", "problems", "answer"), CASES)
def test_malformed_output(kind, output, with_text, status, problems, answer):
    parsed = parse(kind, output, with_text)
    assert parsed.status == status
    assert set(parsed.problems) == problems
    assert len(parsed.problems) == len(set(parsed.problems))
    assert parsed.answer == answer
    if parsed.answer is not None:
        assert list(parsed.answer) == list(instance(kind).keys)


def test_parse_report_counts_the_malformed_outputs():
    parsed = [parse(kind, output, with_text) for kind, output, with_text, *_ in CASES]
    report = parse_report(parsed)
    assert report["total"] == len(CASES)
    assert report["by_status"] == {
        status: sum(case[3] == status for case in CASES) for status in (OK, REPAIRED, UNPARSABLE)
    }
    expected = Counter(code for case in CASES for code in case[4])
    assert {code: n for code, n in report["by_problem"].items() if n} == dict(expected)


def test_gold_answers_parse_ok_for_every_kind():
    for kind in ("iepile_ner", "iepile_re", "conversation", "listing_ner", "listing_re"):
        inst = instance(kind)
        parsed = get_format(inst.format).parse(inst.answer, inst, document_text=CDR_TEXT)
        assert (parsed.status, parsed.answer) == (OK, inst.gold)


def test_json_with_unicode_escapes_and_nested_brackets_in_strings():
    inst = instance("conversation")
    parsed = get_format("conversation").parse('["Cisplatin", "a [b] {c}"]', inst)
    assert parsed.answer == {"Chemical": ["Cisplatin", "a [b] {c}"]}
    assert extract_json('["\\u03b1-tocopherol"]', list).value == ["α-tocopherol"]


def test_a_list_before_the_answer_object_is_prose():
    found = extract_json('See [1].\n{"A": []}', dict)
    assert found.value == {"A": []} and found.problems == ["prose_around_json"]


@pytest.mark.parametrize(
    "garbage",
    ["[" * 5000, "[" * 5000 + "]" * 5000, "x [" * 3000],
    ids=["unclosed", "too-deep", "many-openers"],
)
def test_bracket_garbage_is_unparsable_quickly_not_a_crash(garbage):
    started = time.perf_counter()
    found = extract_json(garbage, list)
    assert found.value is None and found.problems == ["no_json"]
    # a guard against quadratic or worse scanning (milliseconds when linear), not a speed target
    assert time.perf_counter() - started < 5.0


@pytest.mark.parametrize(
    ("mention", "text", "expected"),
    [
        ("wilson disease", "Wilson disease and wilson  disease; Wilson disease.", "Wilson disease"),
        ("alzheimer ' s disease", "Risk of Alzheimer's disease rises.", "Alzheimer's disease"),
        ("apc ( - / - )", "APC(-/-) mice", "APC(-/-)"),
        ("breast - cancer", "breast cancer", None),  # punctuation must be in the text
        ("ataxia", "ataxia-telangiectasia", "ataxia"),  # a hyphen ends a word
        ("ataxia", "ataxias", None),
        ("   ", "anything", None),
    ],
)
def test_surface_form(mention, text, expected):
    assert surface_form(mention, text) == expected
