"""Validation of user-provided preference pairs: errors name the source and the line."""

from __future__ import annotations

import json

import pytest

from bioie_kedro.preference.mining import PreferencePairsError, read_user_pairs

GOOD = {"prompt": "Extract diseases: fever.", "chosen": '["fever"]', "rejected": "[]"}


def test_good_rows_become_trl_rows():
    rows = [GOOD, {**GOOD, "instance_id": "doc-7", "note": "x"}]
    pairs, report = read_user_pairs(rows, source_name="user_pairs.jsonl")
    assert pairs == [
        {**GOOD, "instance_id": "user_pairs.jsonl:1"},
        {**GOOD, "instance_id": "doc-7"},
    ]
    assert report["pairs"] == 2 and report["ignored_columns"] == ["note"]


def test_identical_chosen_and_rejected_is_skipped_and_counted():
    rows = [GOOD, {**GOOD, "rejected": GOOD["chosen"]}, "", json.dumps(GOOD)]
    pairs, report = read_user_pairs(rows, source_name="user_pairs.jsonl")
    assert len(pairs) == 2
    assert report["rows"] == 3 and report["blank_lines"] == 1
    assert report["skipped_chosen_equals_rejected"] == 1 and report["skipped_lines"] == [2]


@pytest.mark.parametrize(
    ("bad_row", "problem"),
    [
        ({"prompt": "p", "chosen": "c"}, "missing column 'rejected'"),
        ({**GOOD, "chosen": ["fever"]}, "column 'chosen' must be a string"),
        ({**GOOD, "rejected": "  "}, "column 'rejected' is empty"),
        ('{"prompt": "p", "chosen": ', "not valid JSON"),
        ('["p", "c", "r"]', "expected a JSON object"),
    ],
)
def test_a_bad_row_names_the_source_and_line(bad_row, problem):
    with pytest.raises(PreferencePairsError) as caught:
        read_user_pairs([GOOD, GOOD, bad_row], source_name="data/01_raw/user_pairs.jsonl")
    message = str(caught.value)
    assert f"data/01_raw/user_pairs.jsonl: line 3: {problem}" in message
    assert "line 1" not in message and "line 2" not in message


def test_every_bad_row_is_reported():
    rows = [{"prompt": "p"}, GOOD, 7]
    with pytest.raises(PreferencePairsError, match="3 problem") as caught:
        read_user_pairs(rows, source_name="pairs")
    assert "pairs: line 1: missing column 'chosen'" in str(caught.value)
    assert "pairs: line 3: expected a JSON object" in str(caught.value)
