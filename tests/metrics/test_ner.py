"""Tests for span-level NER scoring: SemEval schemes against hand computations and nervaluate."""

from __future__ import annotations

import random
from dataclasses import replace

import pytest
from nervaluate import Evaluator

from bioie_kedro.metrics import SCHEMES, DocumentMismatchError, NerScores, score_entities
from bioie_kedro.schema import Document, Sentence
from tests.metrics.builders import make_doc, nervaluate_input


def counts(scores: NerScores, scheme: str, group: str = "micro", name: str = "") -> tuple:
    """(COR, INC, PAR, MIS, SPU) of one scheme of the micro, per-type or by-length scores."""
    table = {"micro": scores.micro}.get(group) or getattr(scores, group)[name]
    s = table[scheme]
    return (s.correct, s.incorrect, s.partial, s.missed, s.spurious)


def f1(scores: NerScores, scheme: str) -> float:
    return scores.micro[scheme].f1


TEXT = "Patients with breast cancer given cisplatin developed type 2 diabetes."


def score(gold: Document, predicted: Document, **kwargs) -> NerScores:
    return score_entities([gold], [predicted], bootstrap=0, **kwargs)


def test_identical_predictions_score_one_everywhere():
    gold = make_doc(TEXT, ("Disease", "breast cancer"), ("Chemical", "cisplatin"))
    scores = score(gold, gold)
    for scheme in SCHEMES:
        assert scores.micro[scheme].f1 == 1.0
        assert counts(scores, scheme) == (2, 0, 0, 0, 0)


def test_boundary_error():
    gold = make_doc(TEXT, ("Disease", "breast cancer"))
    predicted = make_doc(TEXT, ("Disease", "breast cancer given"))
    scores = score(gold, predicted)
    # Overlap without the same boundaries: strict and exact INC=1 (the gold entity is consumed,
    # not also missed): P = 0/1, R = 0/1.
    assert counts(scores, "strict") == (0, 1, 0, 0, 0)
    assert counts(scores, "exact") == (0, 1, 0, 0, 0)
    assert f1(scores, "strict") == 0.0
    # partial: PAR=1 -> P = R = (0 + 0.5) / 1 = 0.5, F1 = 0.5.
    assert counts(scores, "partial") == (0, 0, 1, 0, 0)
    assert f1(scores, "partial") == pytest.approx(0.5)
    # type: overlap with the same type -> COR=1, F1 = 1.
    assert counts(scores, "type") == (1, 0, 0, 0, 0)
    assert f1(scores, "type") == 1.0


def test_type_error():
    gold = make_doc(TEXT, ("Disease", "breast cancer"))
    predicted = make_doc(TEXT, ("Chemical", "breast cancer"))
    scores = score(gold, predicted)
    assert counts(scores, "strict") == (0, 1, 0, 0, 0)  # same span, wrong type: INC -> F1 0
    assert counts(scores, "exact") == (1, 0, 0, 0, 0)  # boundaries only: COR -> F1 1
    assert counts(scores, "partial") == (1, 0, 0, 0, 0)  # type ignored, exact span: COR
    assert counts(scores, "type") == (0, 1, 0, 0, 0)  # overlap, other type only: INC
    assert [f1(scores, s) for s in SCHEMES] == [0.0, 1.0, 1.0, 0.0]
    # Per type (nervaluate's way, each type on its own entities): the confusion is a miss of
    # Disease and a spurious Chemical.
    assert counts(scores, "strict", "per_type", "Disease") == (0, 0, 0, 1, 0)
    assert counts(scores, "strict", "per_type", "Chemical") == (0, 0, 0, 0, 1)


def test_spurious_and_missed():
    gold = make_doc(TEXT, ("Disease", "breast cancer"), ("Disease", "diabetes"))
    predicted = make_doc(TEXT, ("Disease", "breast cancer"), ("Disease", "Patients"))
    scores = score(gold, predicted)
    # COR=1 (breast cancer), SPU=1 (Patients overlaps nothing), MIS=1 (diabetes).
    # ACT = 1 + 1 = 2, POS = 1 + 1 = 2 -> P = R = F1 = 1/2 under every scheme.
    for scheme in SCHEMES:
        assert counts(scores, scheme) == (1, 0, 0, 1, 1)
        assert scores.micro[scheme].precision == pytest.approx(0.5)
        assert scores.micro[scheme].recall == pytest.approx(0.5)
        assert scores.micro[scheme].possible == 2 and scores.micro[scheme].actual == 2


def test_single_token_prediction_inside_a_two_token_entity():
    # Seed 002's case: gold "breast cancer" [B, I], predicted "cancer" only.
    gold = make_doc(TEXT, ("Disease", "breast cancer"))
    predicted = make_doc(TEXT, ("Disease", "cancer"))
    scores = score(gold, predicted)
    # nervaluate (SemEval 2013) semantics: an overlapping prediction with other boundaries is
    # INCORRECT under strict and exact, not "missed + spurious" as in CoNLL scoring.
    # COR=0, INC=1, MIS=0, SPU=0 -> ACT = POS = 1, P = R = F1 = 0/1 = 0 (the same F1 the CoNLL
    # reading gives, with ACT = POS = 1 there as well).
    assert counts(scores, "strict") == (0, 1, 0, 0, 0)
    assert counts(scores, "exact") == (0, 1, 0, 0, 0)
    assert f1(scores, "strict") == 0.0
    # partial: PAR=1 -> P = R = 0.5 / 1, F1 = 0.5.   type: COR=1 -> 1.0.
    assert counts(scores, "partial") == (0, 0, 1, 0, 0)
    assert f1(scores, "partial") == pytest.approx(0.5)
    assert counts(scores, "type") == (1, 0, 0, 0, 0)
    # Both entities are in the 2-token bucket: the prediction goes to the bucket of the gold
    # entity it overlaps.
    assert counts(scores, "strict", "by_length", "2") == (0, 1, 0, 0, 0)
    assert counts(scores, "strict", "by_length", "1") == (0, 0, 0, 0, 0)


def test_two_predictions_inside_one_gold_entity():
    gold = make_doc(TEXT, ("Disease", "breast cancer"))
    predicted = make_doc(TEXT, ("Disease", "breast"), ("Disease", "cancer"))
    scores = score(gold, predicted)
    # "breast" overlaps and consumes the gold entity (INC / PAR / COR by scheme); "cancer" then
    # finds no unconsumed gold entity: SPU.
    assert counts(scores, "strict") == (0, 1, 0, 0, 1)  # P = 0/2, R = 0/1
    # partial: COR + 0.5 PAR = 0.5; P = 0.5 / 2 = 0.25, R = 0.5 / 1 = 0.5,
    # F1 = 2 * 0.25 * 0.5 / 0.75 = 1/3.
    assert counts(scores, "partial") == (0, 0, 1, 0, 1)
    assert f1(scores, "partial") == pytest.approx(1 / 3)
    # type: COR=1, SPU=1 -> P = 1/2, R = 1/1, F1 = 2/3.
    assert counts(scores, "type") == (1, 0, 0, 0, 1)
    assert f1(scores, "type") == pytest.approx(2 / 3)


def test_end_exclusive_spans_touching_at_the_boundary_do_not_overlap():
    text = "AAAAABBBB and more"
    gold = make_doc(text, ("X", [(0, 5)]))
    touching = make_doc(text, ("X", [(5, 9)]))
    scores = score(gold, touching)
    # [0, 5) and [5, 9) share no character -> nervaluate gets (0, 4) and (5, 8): SPU=1, MIS=1
    # under every scheme (passing end=5 inclusive would have made them overlap: INC / PAR).
    for scheme in SCHEMES:
        assert counts(scores, scheme) == (0, 0, 0, 1, 1)
    # One shared character, [4, 9): overlap -> strict INC=1, partial PAR=1.
    overlapping = make_doc(text, ("X", [(4, 9)]))
    scores = score(gold, overlapping)
    assert counts(scores, "strict") == (0, 1, 0, 0, 0)
    assert counts(scores, "partial") == (0, 0, 1, 0, 0)
    # A one-character entity [3, 4) is (3, 3) inclusive and matches itself exactly.
    single = make_doc(text, ("X", [(3, 4)]))
    assert counts(score(single, single), "strict") == (1, 0, 0, 0, 0)


def test_discontinuous_entity_is_scored_over_its_covering_extent():
    text = "Risk of breast and ovarian cancer rises."
    # "breast ... cancer": spans [8, 14) and [27, 33), covering extent [8, 33).
    gold = make_doc(text, ("Disease", [(8, 14), (27, 33)]))
    assert gold.entities[0].text == "breast cancer"
    # The whole phrase [8, 33) equals the covering extent: COR under every scheme.
    whole = make_doc(text, ("Disease", "breast and ovarian cancer"))
    for scheme in SCHEMES:
        assert counts(score(gold, whole), scheme) == (1, 0, 0, 0, 0)
    # "and" [15, 18) lies between the spans but inside the extent: it overlaps under the policy.
    # strict INC=1; partial PAR=1 -> P = R = 0.5.
    inside = make_doc(text, ("Disease", "and"))
    scores = score(gold, inside)
    assert counts(scores, "strict") == (0, 1, 0, 0, 0)
    assert f1(scores, "partial") == pytest.approx(0.5)
    # Length: tokens overlapping the spans ("breast", "cancer") = 2, not the 4 of the extent; the
    # prediction "and" overlaps that gold entity, so both are in bucket "2".
    assert counts(scores, "strict", "by_length", "2") == (0, 1, 0, 0, 0)
    assert counts(scores, "strict", "by_length", "3+") == (0, 0, 0, 0, 0)


def test_per_type_and_by_length_breakdowns():
    gold = make_doc(
        TEXT,
        ("Disease", "breast cancer"),  # 2 tokens
        ("Chemical", "cisplatin"),  # 1 token
        ("Disease", "type 2 diabetes"),  # 3 tokens
    )
    predicted = make_doc(
        TEXT,
        ("Chemical", "Patients"),  # overlaps nothing: SPU; its own length, 1 token
        ("Disease", "breast cancer"),  # COR
        ("Disease", "cisplatin"),  # type error
        ("Disease", "diabetes"),  # boundary error inside "type 2 diabetes"
    )
    scores = score(gold, predicted)

    # Micro. ACT = 4, POS = 3.
    # strict: Patients SPU, breast cancer COR, cisplatin INC, diabetes INC.
    #   P = 1/4, R = 1/3, F1 = 2 * 1 / (4 + 3) = 2/7.
    assert counts(scores, "strict") == (1, 2, 0, 0, 1)
    assert f1(scores, "strict") == pytest.approx(2 / 7)
    # exact: cisplatin becomes COR. P = 2/4, R = 2/3, F1 = 4/7.
    assert counts(scores, "exact") == (2, 1, 0, 0, 1)
    assert f1(scores, "exact") == pytest.approx(4 / 7)
    # partial: COR 2, PAR 1 -> credit 2.5, P = 2.5/4 = 0.625, R = 2.5/3, F1 = 5/7.
    assert counts(scores, "partial") == (2, 0, 1, 0, 1)
    assert scores.micro["partial"].precision == pytest.approx(0.625)
    assert f1(scores, "partial") == pytest.approx(5 / 7)
    # type: breast cancer and diabetes COR, cisplatin INC (other type), Patients SPU -> 4/7.
    assert counts(scores, "type") == (2, 1, 0, 0, 1)
    assert f1(scores, "type") == pytest.approx(4 / 7)

    # Per type. Disease: gold {breast cancer, type 2 diabetes}, predicted {breast cancer,
    # cisplatin, diabetes}. strict: COR 1, INC 1 (diabetes), SPU 1 (cisplatin overlaps no Disease)
    #   -> P = 1/3, R = 1/2, F1 = 2/5.   partial: COR 1, PAR 1, SPU 1 -> F1 = 2*1.5/5 = 3/5.
    #   type: COR 2, SPU 1 -> P = 2/3, R = 1, F1 = 4/5.
    assert counts(scores, "strict", "per_type", "Disease") == (1, 1, 0, 0, 1)
    assert scores.per_type["Disease"]["strict"].f1 == pytest.approx(2 / 5)
    assert scores.per_type["Disease"]["partial"].f1 == pytest.approx(3 / 5)
    assert scores.per_type["Disease"]["type"].f1 == pytest.approx(4 / 5)
    # Chemical: gold {cisplatin}, predicted {Patients}: MIS 1, SPU 1 everywhere -> F1 0.
    for scheme in SCHEMES:
        assert counts(scores, scheme, "per_type", "Chemical") == (0, 0, 0, 1, 1)
    assert sorted(scores.per_type) == ["Chemical", "Disease"]

    # By length. Gold: breast cancer -> "2", cisplatin -> "1", type 2 diabetes -> "3+".
    # Predicted: Patients -> own length "1"; breast cancer -> "2"; cisplatin (overlaps gold
    # cisplatin) -> "1"; diabetes (overlaps type 2 diabetes) -> "3+".
    # "1": gold {cisplatin/Chemical}, predicted {Patients/Chemical, cisplatin/Disease}.
    #   strict: SPU 1, INC 1 -> F1 0.  exact: SPU 1, COR 1 -> P 1/2, R 1/1, F1 2/3.
    assert counts(scores, "strict", "by_length", "1") == (0, 1, 0, 0, 1)
    assert counts(scores, "exact", "by_length", "1") == (1, 0, 0, 0, 1)
    assert scores.by_length["1"]["exact"].f1 == pytest.approx(2 / 3)
    # "2": breast cancer vs breast cancer -> 1.0 everywhere.
    for scheme in SCHEMES:
        assert scores.by_length["2"][scheme].f1 == 1.0
    # "3+": diabetes inside type 2 diabetes: strict INC -> 0; partial PAR -> 0.5; type COR -> 1.
    assert counts(scores, "strict", "by_length", "3+") == (0, 1, 0, 0, 0)
    assert scores.by_length["3+"]["partial"].f1 == pytest.approx(0.5)
    assert scores.by_length["3+"]["type"].f1 == 1.0

    # as_dict layout.
    out = scores.as_dict()
    assert set(out) == {
        "micro",
        "per_type",
        "by_length",
        "documents",
        "documents_without_prediction",
    }
    assert list(out["micro"]) == list(SCHEMES)
    assert list(out["by_length"]) == ["1", "2", "3+"]
    assert set(out["micro"]["strict"]) == {
        "precision",
        "recall",
        "f1",
        "correct",
        "incorrect",
        "partial",
        "missed",
        "spurious",
        "possible",
        "actual",
        "f1_ci",
    }


def test_length_uses_the_gold_documents_sentence_tokens():
    text = "A type-2 diabetes case."
    gold = make_doc(text, ("Disease", "type-2 diabetes"))
    predicted = make_doc(text, ("Disease", "type-2 diabetes"))
    # Without sentences the text is tokenized: type, -, 2, diabetes = 4 tokens -> "3+".
    assert score(gold, predicted).by_length["3+"]["strict"].correct == 1
    # With sentences whose tokens keep "type-2" whole: type-2, diabetes = 2 tokens -> "2".
    tokens = [(0, 1), (2, 8), (9, 17), (18, 22), (22, 23)]
    segmented = replace(gold, sentences=[Sentence(0, len(text), tokens)])
    scores = score(segmented, predicted)
    assert scores.by_length["2"]["strict"].correct == 1
    assert scores.by_length["3+"]["strict"].possible == 0


def test_type_map_and_types():
    text = "Familial breast cancer and cancers of the ovary; cisplatin."
    gold = make_doc(
        text,
        ("SpecificDisease", "breast cancer"),
        ("DiseaseClass", "cancers"),
        ("Chemical", "cisplatin"),
    )
    predicted = make_doc(
        text, ("Disease", "breast cancer"), ("Disease", "cancers"), ("Chemical", "cisplatin")
    )
    # Without a map the two disease types differ: strict COR 1 (cisplatin), INC 2 -> F1 1/3.
    assert counts(score(gold, predicted), "strict") == (1, 2, 0, 0, 0)
    ncbi = {"SpecificDisease": "Disease", "DiseaseClass": "Disease"}
    mapped = score(gold, predicted, type_map=ncbi)
    assert counts(mapped, "strict") == (3, 0, 0, 0, 0)
    assert sorted(mapped.per_type) == ["Chemical", "Disease"]
    # Keep only Disease (after renaming): 2 gold, 2 predicted, both COR.
    only = score(gold, predicted, type_map=ncbi, types={"Disease"})
    assert counts(only, "strict") == (2, 0, 0, 0, 0)
    assert list(only.per_type) == ["Disease"]


def test_exact_matches_are_credited_whatever_the_listing_order():
    gold = make_doc(TEXT, ("Disease", "breast cancer"))
    short_first = make_doc(TEXT, ("Disease", "breast"), ("Disease", "breast cancer"))
    exact_first = replace(short_first, entities=list(reversed(short_first.entities)))
    # nervaluate alone, fed "breast" [14, 20) first, lets it take the gold entity (INC) and leaves
    # the exact "breast cancer" SPU: strict F1 0. The scorer puts exact matches first, so in both
    # listings "breast cancer" is COR and "breast" SPU: P = 1/2, R = 1/1, F1 = 2/3.
    for predicted in (short_first, exact_first):
        scores = score(gold, predicted)
        assert counts(scores, "strict") == (1, 0, 0, 0, 1)
        assert f1(scores, "strict") == pytest.approx(2 / 3)
        # partial: COR 1, SPU 1 as well (the exact match is COR, not PAR) -> 2/3.
        assert counts(scores, "partial") == (1, 0, 0, 0, 1)
    raw = Evaluator(
        [[{"label": "Disease", "start": 14, "end": 26}]],
        [
            [
                {"label": "Disease", "start": 14, "end": 19},
                {"label": "Disease", "start": 14, "end": 26},
            ]
        ],
        tags=["Disease"],
        loader="dict",
    ).evaluate()["overall"]["strict"]
    assert (raw.correct, raw.incorrect, raw.spurious, raw.f1) == (0, 1, 1, 0)
    # A wrong-type prediction with exact boundaries comes after an exact match of the same span:
    # strict COR 1 (Disease), the Chemical one finds the gold taken -> SPU.
    both_types = make_doc(TEXT, ("Chemical", "breast cancer"), ("Disease", "breast cancer"))
    assert counts(score(gold, both_types), "strict") == (1, 0, 0, 0, 1)


def test_document_matching_and_mismatch_errors():
    first = make_doc(TEXT, ("Disease", "breast cancer"), doc_id="a")
    second = make_doc(TEXT, ("Disease", "diabetes"), doc_id="b")
    # Gold "b" without prediction predicts nothing: its entity is MIS.
    scores = score_entities([first, second], [first], bootstrap=0)
    assert scores.documents == 2 and scores.documents_without_prediction == 1
    assert counts(scores, "strict") == (1, 0, 0, 1, 0)
    stranger = replace(first, id="zz")
    with pytest.raises(DocumentMismatchError, match="'zz'"):
        score_entities([first], [stranger])
    edited = replace(first, text=TEXT.replace("breast", "Breast"))
    with pytest.raises(DocumentMismatchError, match="offset 14") as error:
        score_entities([first], [edited])
    assert error.value.document_id == "a" and error.value.offset == 14
    assert isinstance(error.value, ValueError)
    shorter = replace(first, text=TEXT[:-1], entities=[])
    with pytest.raises(DocumentMismatchError, match=f"offset {len(TEXT) - 1}"):
        score_entities([first], [shorter])
    with pytest.raises(DocumentMismatchError, match="more than once"):
        score_entities([first], [first, first])


def test_malformed_predicted_spans_are_rejected():
    gold = make_doc(TEXT, ("Disease", "breast cancer"))
    empty_span = replace(gold.entities[0], offsets=[(14, 14)])
    with pytest.raises(ValueError, match="'T0'.*empty or outside"):
        score_entities([gold], [replace(gold, entities=[empty_span])])
    beyond = replace(gold.entities[0], offsets=[(14, len(TEXT) + 1)])
    with pytest.raises(ValueError, match="outside the text"):
        score_entities([gold], [replace(gold, entities=[beyond])])


def test_empty_inputs():
    empty = make_doc(TEXT)
    scores = score_entities([empty], [empty])
    assert counts(scores, "strict") == (0, 0, 0, 0, 0)
    assert scores.micro["strict"].f1 == 0.0 and scores.micro["strict"].possible == 0
    nothing = score_entities([], [])
    assert nothing.documents == 0 and nothing.micro["strict"].f1_ci == (0.0, 0.0)


def _random_corpus(seed: int) -> tuple[list[Document], list[Document]]:
    """Gold documents and a noisy copy: shifted boundaries, type flips, drops and additions."""
    rng = random.Random(seed)
    words = "the tumor suppressor gene BRCA1 causes breast and ovarian cancer in women".split()
    gold_docs, predicted_docs = [], []
    for index in range(30):
        text = " ".join(rng.choice(words) for _ in range(40))
        starts = [0] + [i + 1 for i, c in enumerate(text) if c == " "]
        gold_spans, predicted_spans = [], []
        for start in sorted(rng.sample(starts, 6)):
            end = text.find(" ", start)
            end = len(text) if end == -1 else end
            kind = rng.choice(["A", "B"])
            if not gold_spans or start >= gold_spans[-1][1][0][1]:
                gold_spans.append((kind, [(start, end)]))
            move = rng.random()
            if move < 0.15:
                continue  # missed
            if move < 0.3:
                end = min(len(text), end + rng.choice([-1, 2, 6]))
                end = max(end, start + 1)
            if move > 0.85:
                kind = "B" if kind == "A" else "A"
            predicted_spans.append((kind, [(start, end)]))
        for start in rng.sample(starts, 2):  # spurious, possibly overlapping
            predicted_spans.append(("A", [(start, min(start + 3, len(text)))]))
        gold_docs.append(make_doc(text, *gold_spans, doc_id=f"doc{index}"))
        predicted_docs.append(make_doc(text, *predicted_spans, doc_id=f"doc{index}", id_prefix="P"))
    return gold_docs, predicted_docs


def assert_matches_nervaluate(scores: NerScores, gold: list[Document], predicted: list[Document]):
    reference = Evaluator(
        *nervaluate_input(gold, predicted), tags=["A", "B"], loader="dict"
    ).evaluate()
    names = {"strict": "strict", "exact": "exact", "partial": "partial", "type": "ent_type"}
    groups = [(scores.micro, reference["overall"])] + [
        (scores.per_type[tag], reference["entities"][tag]) for tag in reference["entities"]
    ]
    for ours, theirs in groups:
        for scheme, name in names.items():
            mine, result = ours[scheme], theirs[name]
            assert (mine.correct, mine.incorrect, mine.partial, mine.missed, mine.spurious) == (
                result.correct,
                result.incorrect,
                result.partial,
                result.missed,
                result.spurious,
            )
            assert (mine.possible, mine.actual) == (result.possible, result.actual)
            assert mine.precision == pytest.approx(result.precision, abs=1e-12)
            assert mine.recall == pytest.approx(result.recall, abs=1e-12)
            assert mine.f1 == pytest.approx(result.f1, abs=1e-12)


def test_summed_per_document_counts_equal_nervaluate_on_the_whole_corpus():
    gold, predicted = _random_corpus(3)
    scores = score_entities(gold, predicted, bootstrap=0)
    assert scores.micro["partial"].partial > 0 and scores.micro["strict"].incorrect > 0
    assert scores.micro["type"].incorrect > 0 and scores.micro["strict"].spurious > 0
    assert_matches_nervaluate(scores, gold, predicted)


def test_bootstrap_interval_contains_point_and_is_seeded():
    gold, predicted = _random_corpus(5)
    scores = score_entities(gold, predicted, bootstrap=500, seed=11)
    for scheme in SCHEMES:
        low, high = scores.micro[scheme].f1_ci
        assert low < scores.micro[scheme].f1 < high
    again = score_entities(gold, predicted, bootstrap=500, seed=11)
    assert again.as_dict() == scores.as_dict()
    other = score_entities(gold, predicted, bootstrap=500, seed=12)
    assert other.micro["strict"].f1_ci != scores.micro["strict"].f1_ci
    assert score_entities(gold, predicted, bootstrap=0).micro["strict"].f1_ci is None
    assert scores.as_dict()["micro"]["strict"]["f1_ci"] == list(scores.micro["strict"].f1_ci)
