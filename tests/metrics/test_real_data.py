"""Real-corpus checks of the NER scorer on NCBI-disease test: identity, a hand-computed boundary
perturbation, agreement with nervaluate, and speed."""

from __future__ import annotations

import os
import random
from dataclasses import replace
from pathlib import Path

import pytest
from nervaluate import Evaluator

from bioie_kedro.corpora.pubtator import read_pubtator
from bioie_kedro.metrics import SCHEMES, score_entities
from bioie_kedro.schema import Document, Entity
from tests.metrics.builders import nervaluate_input

# tests/metrics/test_real_data.py -> project root is parents[2]; corpora live beside the project.
SHARED_DATA = Path(
    os.environ.get(
        "BIOIE_SHARED_DATA", Path(__file__).resolve().parents[2].parent / "shared" / "data"
    )
)
NCBI_TEST = SHARED_DATA / "ncbi_disease" / "NCBItestset_corpus.txt"

pytestmark = [
    pytest.mark.real_data,
    pytest.mark.skipif(
        not NCBI_TEST.is_file(),
        reason=f"NCBI-disease test set not found at {NCBI_TEST} (set BIOIE_SHARED_DATA)",
    ),
]


def assert_same_as_nervaluate(scores, reference: dict) -> None:
    """Micro and per-type counts and scores equal nervaluate's whole-corpus evaluation."""
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
            assert mine.precision == pytest.approx(result.precision, abs=1e-12)
            assert mine.recall == pytest.approx(result.recall, abs=1e-12)
            assert mine.f1 == pytest.approx(result.f1, abs=1e-12)


@pytest.fixture(scope="module")
def ncbi_test() -> list[Document]:
    return read_pubtator(NCBI_TEST, source="ncbi_disease", split="test").documents


def shortened(entity: Entity, text: str) -> Entity:
    """The entity with its end moved one character left."""
    start, end = entity.offsets[-1]
    assert end - start > 1, "the shortened entity must stay non-empty"
    offsets = [*entity.offsets[:-1], (start, end - 1)]
    return replace(entity, offsets=offsets, text=" ".join(text[s:e] for s, e in offsets))


def every_tenth_shortened(docs: list[Document]) -> list[Document]:
    """A copy of ``docs`` in which every 10th mention (by document id, then offsets) is shortened."""
    ordered = sorted(
        (doc.id, entity.start, entity.end, entity.id) for doc in docs for entity in doc.entities
    )
    chosen = {(doc_id, entity_id) for doc_id, _, _, entity_id in ordered[::10]}
    return [
        replace(
            doc,
            entities=[
                shortened(e, doc.text) if (doc.id, e.id) in chosen else e for e in doc.entities
            ],
        )
        for doc in docs
    ]


def test_gold_against_itself_scores_one(ncbi_test):
    assert len(ncbi_test) == 100
    scores = score_entities(ncbi_test, ncbi_test, bootstrap=0)
    for scheme in SCHEMES:
        assert scores.micro[scheme].f1 == 1.0
        assert scores.micro[scheme].correct == 960


def test_every_tenth_end_moved_by_one_character(ncbi_test):
    predicted = every_tenth_shortened(ncbi_test)
    changed = sum(
        g.offsets != p.offsets
        for gd, pd in zip(ncbi_test, predicted)
        for g, p in zip(gd.entities, pd.entities)
    )
    assert changed == 96  # indices 0, 10, ..., 950 of 960 mentions
    scores = score_entities(ncbi_test, predicted, bootstrap=0)
    # strict / exact: 864 exact matches (COR), 96 overlapping with other boundaries (INC), nothing
    # missed or spurious; ACT = POS = 960 -> P = R = F1 = 864 / 960 = 0.9.
    for scheme in ("strict", "exact"):
        assert (scores.micro[scheme].correct, scores.micro[scheme].incorrect) == (864, 96)
        assert (scores.micro[scheme].missed, scores.micro[scheme].spurious) == (0, 0)
        assert scores.micro[scheme].f1 == pytest.approx(0.9)
    # partial: COR 864, PAR 96 -> P = R = (864 + 0.5 * 96) / 960 = 912 / 960 = 0.95.
    assert (scores.micro["partial"].correct, scores.micro["partial"].partial) == (864, 96)
    assert scores.micro["partial"].precision == pytest.approx(0.95)
    assert scores.micro["partial"].recall == pytest.approx(0.95)
    assert scores.micro["partial"].f1 == pytest.approx(0.95)
    # type: every prediction overlaps its gold mention with the same type -> 960 COR, 1.0.
    assert scores.micro["type"].f1 == 1.0

    # nervaluate itself, on the whole corpus, agrees on the counts and the scores.
    tags = sorted({e.type for doc in ncbi_test for e in doc.entities})
    reference = Evaluator(
        *nervaluate_input(ncbi_test, predicted), tags=tags, loader="dict"
    ).evaluate()
    assert reference["overall"]["strict"].f1 == pytest.approx(0.9)
    assert reference["overall"]["partial"].f1 == pytest.approx(0.95)
    assert_same_as_nervaluate(scores, reference)


def noisy_predictions(docs: list[Document], seed: int = 0) -> list[Document]:
    """Dropped, shifted, retyped and invented mentions, as a weak system would produce."""
    rng = random.Random(seed)
    types = sorted({e.type for doc in docs for e in doc.entities})
    out = []
    for doc in docs:
        entities = []
        for entity in doc.entities:
            roll = rng.random()
            if roll < 0.1:
                continue
            start, end = entity.start, entity.end
            if roll < 0.25:
                start = max(0, start - rng.choice([0, 3, 8]))
                end = min(len(doc.text), end + rng.choice([0, 2, 10]))
            label = rng.choice(types) if roll > 0.9 else entity.type
            entities.append(Entity(entity.id, label, doc.text[start:end], [(start, end)]))
        for index in range(3):
            start = rng.randrange(0, len(doc.text) - 12)
            end = start + rng.randint(3, 12)
            entities.append(
                Entity(f"S{index}", rng.choice(types), doc.text[start:end], [(start, end)])
            )
        out.append(replace(doc, entities=entities))
    return out


def test_noisy_predictions_agree_with_nervaluate(ncbi_test):
    # scoring speed is measured in docs/benchmarks.md ("Scoring command speed"), not here
    predicted = noisy_predictions(ncbi_test)
    scores = score_entities(ncbi_test, predicted, bootstrap=0)
    with_ci = score_entities(ncbi_test, predicted, bootstrap=1000)
    for scheme in SCHEMES:
        low, high = with_ci.micro[scheme].f1_ci
        assert low <= scores.micro[scheme].f1 <= high

    tags = sorted({e.type for doc in ncbi_test for e in doc.entities})
    reference = Evaluator(
        *nervaluate_input(ncbi_test, predicted), tags=tags, loader="dict"
    ).evaluate()
    assert scores.micro["partial"].partial > 0 and scores.micro["type"].incorrect > 0
    assert_same_as_nervaluate(scores, reference)
    # The length buckets partition gold and predictions.
    for scheme in SCHEMES:
        buckets = scores.by_length.values()
        assert sum(b[scheme].possible for b in buckets) == scores.micro[scheme].possible
        assert sum(b[scheme].actual for b in buckets) == scores.micro[scheme].actual
