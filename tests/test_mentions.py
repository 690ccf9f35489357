"""Mention strings back to spans: find_mentions, resolve_overlaps, entities_from_mentions."""

from __future__ import annotations

import pytest

from bioie_kedro.mentions import (
    MentionMatch,
    entities_from_mentions,
    find_mentions,
    normalize_mentions,
    resolve_overlaps,
)
from bioie_kedro.schema import Document, validate_document

TEXT = "Naloxone caused hypotension."


def spans(matches: list[MentionMatch]) -> list[tuple[int, int, str]]:
    return [(m.start, m.end, m.type) for m in matches]


def test_pairs_and_mapping_give_the_same_spans():
    pairs = [("Chemical", "Naloxone"), ("Disease", "hypotension")]
    expected = [
        MentionMatch(0, 8, "Chemical", "Naloxone"),
        MentionMatch(16, 27, "Disease", "hypotension"),
    ]
    assert find_mentions(TEXT, pairs) == expected
    assert find_mentions(TEXT, {"Chemical": ["Naloxone"], "Disease": ["hypotension"]}) == expected


def test_result_is_sorted_by_start_whatever_the_input_order():
    found = find_mentions(TEXT, [("Disease", "hypotension"), ("Chemical", "Naloxone")])
    assert spans(found) == [(0, 8, "Chemical"), (16, 27, "Disease")]


def test_empty_text_and_empty_mentions():
    assert find_mentions("", [("Disease", "cancer")]) == []
    assert find_mentions(TEXT, []) == []
    assert find_mentions(TEXT, {}) == []
    assert find_mentions(TEXT, [("Disease", "   "), ("Disease", "")]) == []


def test_mention_not_in_text():
    assert find_mentions(TEXT, [("Disease", "hypertension")]) == []


def test_word_boundaries():
    text = "ACEi and ACE inhibitors; (5-FU) and 5-FUra"
    assert spans(find_mentions(text, [("Chemical", "ACE")])) == [(9, 12, "Chemical")]
    # "5-FU" starts and ends with word characters: "(" and ")" are boundaries, "r" is not.
    assert spans(find_mentions(text, [("Chemical", "5-FU")])) == [(26, 30, "Chemical")]
    # A mention edge that is not a word character never sits inside a word run.
    assert spans(find_mentions("x(5-FU)y", [("Chemical", "(5-FU)")])) == [(1, 7, "Chemical")]


def test_without_word_boundaries_matches_inside_words():
    text = "ACEi and ACE inhibitors"
    found = find_mentions(text, [("Chemical", "ACE")], word_boundaries=False)
    assert spans(found) == [(0, 3, "Chemical"), (9, 12, "Chemical")]


def test_repeated_occurrences_are_all_found():
    text = "ALS patients. ALS is rare; familial ALS."
    assert [m.start for m in find_mentions(text, [("Disease", "ALS")])] == [0, 14, 36]


def test_longest_candidate_wins_and_matches_never_overlap():
    text = "breast cancer and cancer of the breast"
    mentions = [("Disease", "cancer"), ("Disease", "breast cancer"), ("Anatomy", "breast")]
    assert spans(find_mentions(text, mentions)) == [
        (0, 13, "Disease"),
        (18, 24, "Disease"),
        (32, 38, "Anatomy"),
    ]


def test_overlapping_occurrences_of_one_string_are_candidates():
    # "aa" occurs at 2 and 3; the one at 2 overlaps the longer "zza", the one at 3 does not.
    found = find_mentions("zzaaa", [("S", "aa"), ("L", "zza")], word_boundaries=False)
    assert spans(found) == [(0, 3, "L"), (3, 5, "S")]


def test_equal_length_tie_goes_to_the_earliest_start():
    found = find_mentions("ab cd", [("Y", "b cd"), ("X", "ab c")], word_boundaries=False)
    assert spans(found) == [(0, 4, "X")]


def test_a_string_given_twice_keeps_its_first_type():
    text = "ALS and als"
    assert spans(find_mentions(text, [("Disease", "ALS"), ("Gene", "ALS")])) == [(0, 3, "Disease")]
    # Ignoring case, "als" and "ALS" are one mention: the first type wins for both spans.
    found = find_mentions(text, [("Disease", "als"), ("Gene", "ALS")], case_insensitive=True)
    assert spans(found) == [(0, 3, "Disease"), (8, 11, "Disease")]
    # Respecting case they are two mentions with their own types.
    found = find_mentions(text, [("Disease", "als"), ("Gene", "ALS")])
    assert spans(found) == [(0, 3, "Gene"), (8, 11, "Disease")]


def test_case_insensitive_keeps_offsets_and_the_given_string():
    text = "Hypotension and HYPOTENSION"
    assert find_mentions(text, [("Disease", "hypotension")]) == []
    found = find_mentions(text, [("Disease", "hypotension")], case_insensitive=True)
    assert found == [
        MentionMatch(0, 11, "Disease", "hypotension"),
        MentionMatch(16, 27, "Disease", "hypotension"),
    ]


def test_whitespace_inside_a_mention_matches_any_whitespace_run():
    text = "breast  cancer, breast\ncancer and breast cancer; breastcancer"
    found = find_mentions(text, [("Disease", "  breast   cancer ")])
    assert spans(found) == [(0, 14, "Disease"), (16, 29, "Disease"), (34, 47, "Disease")]
    assert {m.mention for m in found} == {"breast   cancer"}
    assert [text[m.start : m.end] for m in found] == [
        "breast  cancer",
        "breast\ncancer",
        "breast cancer",
    ]


def test_whitespace_variants_of_one_string_are_one_mention():
    assert normalize_mentions([("A", "breast cancer"), ("B", " breast  cancer")]) == [
        ("A", "breast cancer")
    ]


def test_unicode_text_and_word_boundaries():
    text = "IL-1β levels in β-thalassemia and Sjögren's syndrome"
    # "β" is a word character, so "IL-1" ends inside the word "1β".
    assert find_mentions(text, [("Gene", "IL-1")]) == []
    assert spans(find_mentions(text, [("Gene", "IL-1β")])) == [(0, 5, "Gene")]
    assert spans(find_mentions(text, [("Disease", "β-thalassemia")])) == [(16, 29, "Disease")]
    assert spans(
        find_mentions(text, [("Disease", "sjögren's SYNDROME")], case_insensitive=True)
    ) == [(34, 52, "Disease")]


def test_case_insensitive_when_lower_casing_changes_the_length():
    # "İ".lower() is two characters, so the text cannot be lower-cased in place.
    text = "İzmir fever and Fever"
    found = find_mentions(text, [("Disease", "FEVER")], case_insensitive=True)
    assert spans(found) == [(6, 11, "Disease"), (16, 21, "Disease")]


def test_region_limits_and_boundaries_judged_on_the_whole_text():
    text = "cancer. cancer."
    assert spans(find_mentions(text, [("D", "cancer")], start=1)) == [(8, 14, "D")]
    assert find_mentions(text, [("D", "cancer")], end=5) == []
    assert spans(find_mentions(text, [("D", "cancer")], end=6)) == [(0, 6, "D")]
    # The region starts inside "xcancer": its edge is not a word boundary.
    assert find_mentions("xcancer", [("D", "cancer")], start=1) == []


def test_mapping_value_may_be_a_single_string():
    assert spans(find_mentions(TEXT, {"Chemical": "Naloxone"})) == [(0, 8, "Chemical")]


def test_bad_mention_items_are_rejected():
    with pytest.raises(TypeError, match="expected a \\(type, mention\\) pair"):
        find_mentions(TEXT, ["Naloxone"])  # type: ignore[list-item]
    with pytest.raises(TypeError, match="is not a string"):
        find_mentions(TEXT, [("Chemical", 3)])  # type: ignore[list-item]


def test_resolve_overlaps_keeps_the_given_order_for_full_ties():
    candidates = [MentionMatch(0, 3, "B", "x"), MentionMatch(0, 3, "A", "x")]
    assert resolve_overlaps(candidates) == [MentionMatch(0, 3, "B", "x")]
    assert resolve_overlaps([]) == []


def test_entities_from_mentions_validate_against_the_document():
    doc = Document("1", "demo", "test", "Naloxone caused Hypotension; naloxone again.")
    entities = entities_from_mentions(
        doc, {"Chemical": ["naloxone"], "Disease": ["hypotension"]}, case_insensitive=True
    )
    assert [(e.id, e.type, e.text, e.offsets) for e in entities] == [
        ("P1", "Chemical", "Naloxone", [(0, 8)]),
        ("P2", "Disease", "Hypotension", [(16, 27)]),
        ("P3", "Chemical", "naloxone", [(29, 37)]),
    ]
    validate_document(Document(doc.id, doc.source, doc.split, doc.text, entities=entities))


def test_entities_from_mentions_on_an_empty_document():
    doc = Document("1", "demo", "test", "")
    assert entities_from_mentions(doc, [("Disease", "cancer")], id_prefix="X") == []
