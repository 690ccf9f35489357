"""Error kinds of hand-written answers, and pair mining: dedupe, balance, determinism."""

from __future__ import annotations

import pytest

from bioie_kedro.preference.mining import ERROR_KINDS, MiningCandidate, classify_errors, mine_pairs

NER_GOLD = {"Disease": ["breast cancer", "headache", "headache"], "Chemical": ["aspirin"]}
RE_GOLD = {"CID": [["cisplatin", "nephrotoxicity"]], "treats": [["aspirin", "headache"]]}


@pytest.mark.parametrize(
    ("predicted", "kinds"),
    [
        ({"Disease": ["breast cancer", "headache", "headache"], "Chemical": ["aspirin"]}, []),
        (None, ["format"]),
        # same key, shares a word, differs
        ({"Disease": ["cancer", "headache", "headache"], "Chemical": ["aspirin"]}, ["boundary"]),
        # the exact string under another type
        ({"Disease": ["breast cancer", "headache", "headache", "aspirin"]}, ["type"]),
        # no gold item of any type shares a word
        (
            {
                "Disease": ["breast cancer", "headache", "headache", "fever"],
                "Chemical": ["aspirin"],
            },
            ["false_positive"],
        ),
        # multiset: gold lists "headache" twice, once is not enough
        ({"Disease": ["breast cancer", "headache"], "Chemical": ["aspirin"]}, ["missed"]),
        # an extra copy of a gold mention is over-prediction
        (
            {
                "Disease": ["breast cancer", "headache", "headache", "headache"],
                "Chemical": ["aspirin"],
            },
            ["false_positive"],
        ),
        # an extra mention overlapping a gold one is mis-bounded, not hallucinated
        (
            {
                "Disease": ["breast cancer", "cancer", "headache", "headache"],
                "Chemical": ["aspirin"],
            },
            ["boundary"],
        ),
        # wrong type and wrong boundary at once
        (
            {"Disease": ["headache", "headache"], "Chemical": ["aspirin", "cancer"]},
            ["type", "boundary"],
        ),
        ({}, ["missed"]),
    ],
)
def test_ner_error_kinds(predicted, kinds):
    assert classify_errors(NER_GOLD, predicted, "ner") == kinds


@pytest.mark.parametrize(
    ("predicted", "kinds"),
    [
        (RE_GOLD, []),
        # mapping items read as (head, tail)
        (
            {
                "CID": [{"head": "cisplatin", "tail": "nephrotoxicity"}],
                "treats": [{"tail": "headache", "head": "aspirin"}],
            },
            [],
        ),
        (
            {"CID": [["nephrotoxicity", "cisplatin"]], "treats": [["aspirin", "headache"]]},
            ["direction"],
        ),
        ({"CID": [["cisplatin", "nephrotoxicity"]], "causes": [["aspirin", "headache"]]}, ["type"]),
        (
            {"CID": [["cisplatin", "acute nephrotoxicity"]], "treats": [["aspirin", "headache"]]},
            ["boundary"],
        ),
        (
            {
                "CID": [["cisplatin", "nephrotoxicity"], ["tamoxifen", "fever"]],
                "treats": [["aspirin", "headache"]],
            },
            ["false_positive"],
        ),
        ({"CID": [["cisplatin", "nephrotoxicity"]]}, ["missed"]),
        (
            {"causes": [["headache", "aspirin"]], "CID": [["cisplatin", "nephrotoxicity"]]},
            ["type", "direction"],
        ),
        (None, ["format"]),
    ],
)
def test_re_error_kinds(predicted, kinds):
    assert classify_errors(RE_GOLD, predicted, "re") == kinds


def test_unknown_task_raises():
    with pytest.raises(ValueError, match="task"):
        classify_errors(NER_GOLD, {}, "qa")


def _ner(instance_id: str, gold: dict, answers: list[tuple[str, dict | None]]) -> MiningCandidate:
    return MiningCandidate(
        instance_id=instance_id,
        prompt=f"prompt {instance_id}",
        chosen=str(gold),
        task="ner",
        gold=gold,
        answers=tuple(answers),
    )


GOLD_A = {"Disease": ["breast cancer"]}
GOLD_B = {"Disease": ["fever"], "Chemical": ["aspirin"]}

CANDIDATES = [
    _ner(
        "a",
        GOLD_A,
        [
            ("['breast cancer']", {"Disease": ["breast cancer"]}),  # correct
            ("[ 'breast cancer' ]", {"Disease": ["breast cancer"]}),  # correct, other text
            ("['cancer']", {"Disease": ["cancer"]}),  # boundary
            ("['cancer']", {"Disease": ["cancer"]}),  # repeat of the same rejected text
            ("[]", {}),  # missed
            ("['breast", None),  # format
        ],
    ),
    _ner(
        "b",
        GOLD_B,
        [
            ("[fever]", {"Disease": ["fever"]}),  # missed
            ("[]", {}),  # missed
            ("[aspirin]", {"Chemical": []}),  # missed
            ("x", {"Disease": ["fever", "aspirin"]}),  # type
            ("y", {"Disease": ["fever", "cough"], "Chemical": ["aspirin"]}),  # false positive
            # the chosen text itself, parsed wrongly by a broken parser: never a pair
            (str(GOLD_B), {"Disease": []}),
        ],
    ),
]


def test_pairs_and_report_counts():
    pairs, report = mine_pairs(CANDIDATES, seed=0, balance=False)
    assert report["candidates"] == 2
    assert report["answers"] == 12
    assert report["correct_answers"] == 2
    assert report["unparsable_answers"] == 1
    assert report["rejected_equals_chosen"] == 1
    assert report["duplicates_removed"] == 1
    assert report["primary_kinds"]["mined"] == {
        "format": 1,
        "type": 1,
        "boundary": 2,
        "direction": 0,
        "false_positive": 1,
        "missed": 4,
    }
    assert report["primary_kinds"]["deduplicated"]["boundary"] == 1
    assert report["pairs"] == len(pairs) == 8
    assert {pair["instance_id"] for pair in pairs} == {"a", "b"}
    first = pairs[0]
    assert first == {
        "prompt": "prompt a",
        "chosen": str(GOLD_A),
        "rejected": "['cancer']",
        "instance_id": "a",
        "task": "ner",
        "error_kinds": ["boundary"],
        "primary_kind": "boundary",
    }
    assert all(pair["rejected"] != pair["chosen"] for pair in pairs)
    assert all(pair["primary_kind"] == pair["error_kinds"][0] for pair in pairs)
    assert set(report["error_kinds"]["kept"]) == set(ERROR_KINDS)


def test_balance_caps_each_kind():
    # deduplicated primary kinds: format 1, type 1, boundary 1, false_positive 1, missed 4
    pairs, report = mine_pairs(CANDIDATES, seed=0, balance_factor=2.0)
    assert report["balance"]["cap_per_kind"] == 2
    assert report["primary_kinds"]["kept"]["missed"] == 2
    assert len(pairs) == 6

    pairs, report = mine_pairs(CANDIDATES, seed=0, max_per_kind=1)
    assert report["primary_kinds"]["kept"] == {
        "format": 1,
        "type": 1,
        "boundary": 1,
        "direction": 0,
        "false_positive": 1,
        "missed": 1,
    }


def test_balance_floor_stops_a_rare_kind_from_shrinking_the_others():
    # missed has 4 pairs, every other kind 1: with the floor at 2 the cap is 2 × 2 = 4
    pairs, report = mine_pairs(CANDIDATES, seed=0, balance_factor=2.0, balance_floor=2)
    assert report["balance"]["cap_per_kind"] == 4 and report["balance"]["balance_floor"] == 2
    assert report["primary_kinds"]["kept"]["missed"] == 4
    assert len(pairs) == 8
    # a floor at or below the rarest count changes nothing
    assert mine_pairs(CANDIDATES, seed=0, balance_factor=2.0, balance_floor=1) == mine_pairs(
        CANDIDATES, seed=0, balance_factor=2.0
    )
    with pytest.raises(ValueError, match="balance_floor"):
        mine_pairs(CANDIDATES, seed=0, balance_floor=0)


def test_max_pairs_takes_kinds_in_turn():
    pairs, report = mine_pairs(CANDIDATES, seed=0, balance=False, max_pairs=5)
    assert len(pairs) == 5
    # round robin over the five non-empty kinds: one of each
    assert sorted(pair["primary_kind"] for pair in pairs) == sorted(
        ["format", "type", "boundary", "false_positive", "missed"]
    )


def test_deterministic_for_a_seed_and_seeded():
    many = [
        _ner(f"i{index}", GOLD_A, [(f"[{index}]", {}), (f"[{index} x]", {"Disease": ["x"]})])
        for index in range(30)
    ] + [_ner("f", GOLD_A, [("(", None)])]
    first = mine_pairs(many, seed=13, balance_factor=3.0)
    assert first == mine_pairs(list(many), seed=13, balance_factor=3.0)
    pairs, report = first
    assert report["balance"]["cap_per_kind"] == 3
    assert report["primary_kinds"]["kept"]["missed"] == 3
    other, _ = mine_pairs(many, seed=14, balance_factor=3.0)
    assert [pair["rejected"] for pair in other] != [pair["rejected"] for pair in pairs]


def test_no_candidates():
    pairs, report = mine_pairs([], seed=0)
    assert pairs == []
    assert report["pairs"] == 0 and report["balance"]["cap_per_kind"] is None
