"""Dual-model consistency review: agreement numbers, accepted documents, the queue, the HTML page."""

from __future__ import annotations

import pytest

from bioie_kedro.review import (
    QUEUE_COLUMNS,
    ReviewItem,
    queue_rows,
    render_review_html,
    review_consistency,
)
from bioie_kedro.schema import Document, Entity, Relation, validate_document

TEXT_1 = "Naloxone caused hypotension."  # Naloxone [0, 8), hypotension [16, 27)
TEXT_3 = "Fever and rash."  # Fever [0, 5), rash [10, 14)


def doc(doc_id: str, text: str, *entities: tuple[int, int, str]) -> Document:
    return validate_document(
        Document(
            doc_id,
            "demo",
            "test",
            text,
            entities=[
                Entity(f"T{i}", etype, text[start:end], [(start, end)])
                for i, (start, end, etype) in enumerate(entities, start=1)
            ],
        )
    )


def systems() -> tuple[list[Document], list[Document]]:
    """Three documents: a type disagreement, both empty, one entity only B found."""
    system_a = [
        doc("1", TEXT_1, (0, 8, "Chemical"), (16, 27, "Disease")),
        doc("2", "Nothing here."),
        doc("3", TEXT_3, (0, 5, "Disease")),
    ]
    system_b = [
        doc("3", TEXT_3, (10, 14, "Disease"), (0, 5, "Disease")),
        doc("1", TEXT_1, (0, 8, "Chemical"), (16, 27, "Chemical")),
        doc("2", "Nothing here."),
    ]
    return system_a, system_b


def test_agreement_numbers_by_hand():
    review = review_consistency(*systems(), names=("icl", "dfpo"))
    # doc 1: A {N/Chem, h/Dis}, B {N/Chem, h/Chem}: 1 agreed of 3. doc 2: both empty: 1.0.
    # doc 3: A {F/Dis}, B {F/Dis, r/Dis}: 1 of 2. Micro: (1 + 0 + 1) / (3 + 0 + 2) = 0.4.
    assert [(d.document_id, d.agreed, d.union) for d in review.documents] == [
        ("1", 1, 3),
        ("2", 0, 0),
        ("3", 1, 2),
    ]
    assert [d.agreement for d in review.documents] == pytest.approx([1 / 3, 1.0, 0.5])
    assert review.micro_agreement == pytest.approx(0.4)
    assert review.full_agreement_share == pytest.approx(1 / 3)
    assert review.summary() == {
        "system_a": "icl",
        "system_b": "dfpo",
        "documents": 3,
        "documents_in_full_agreement": 1,
        "full_agreement_share": pytest.approx(1 / 3),
        "entities_a": 3,
        "entities_b": 4,
        "entities_agreed": 2,
        "entities_union": 5,
        "micro_agreement": pytest.approx(0.4),
        "queue": 2,
        "queue_by_status": {"only_a": 0, "only_b": 1, "type_differs": 1},
    }


def test_accepted_documents_hold_the_agreed_entities():
    system_a, system_b = systems()
    system_a[0].relations.append(Relation("R1", "CID", "T1", "T2"))
    review = review_consistency(system_a, system_b)
    assert [d.id for d in review.accepted] == ["1", "2", "3"]
    assert [[(e.text, e.type) for e in d.entities] for d in review.accepted] == [
        [("Naloxone", "Chemical")],
        [],
        [("Fever", "Disease")],
    ]
    assert review.accepted[0].relations == []
    assert len(system_a[0].entities) == 2 and len(system_a[0].relations) == 1  # inputs untouched
    for accepted in review.accepted:
        validate_document(accepted)


def test_queue_rows():
    review = review_consistency(*systems(), names=("icl", "dfpo"))
    assert review.queue == [
        ReviewItem(
            "1",
            16,
            27,
            "hypotension",
            "type_differs",
            "icl+dfpo",
            "Disease",
            "Chemical",
            ((16, 27),),
        ),
        ReviewItem("3", 10, 14, "rash", "only_b", "dfpo", None, "Disease", ((10, 14),)),
    ]
    rows = queue_rows(review)
    assert [tuple(row) for row in rows] == [QUEUE_COLUMNS] * 2
    assert rows[0] == {
        "document_id": "1",
        "start": 16,
        "end": 27,
        "text": "hypotension",
        "status": "type_differs",
        "found_by": "icl+dfpo",
        "type": "Disease / Chemical",
        "type_a": "Disease",
        "type_b": "Chemical",
    }
    assert (rows[1]["type"], rows[1]["type_a"], rows[1]["type_b"]) == ("Disease", "", "Disease")


def test_only_a_and_several_types_on_one_span():
    system_a = [doc("1", TEXT_3, (0, 5, "Disease"), (0, 5, "Symptom"), (10, 14, "Disease"))]
    system_b = [doc("1", TEXT_3, (0, 5, "Disease"))]
    review = review_consistency(system_a, system_b)
    # "Fever" agreed as Disease; A's extra Symptom type is A's alone, as is "rash".
    assert [(i.text, i.status, i.type_a, i.type_b) for i in review.queue] == [
        ("Fever", "only_a", "Symptom", None),
        ("rash", "only_a", "Disease", None),
    ]
    assert review.documents[0].agreement == pytest.approx(1 / 3)


def test_overlapping_but_different_spans_are_two_disagreements():
    system_a = [doc("1", TEXT_1, (16, 27, "Disease"))]
    system_b = [doc("1", TEXT_1, (0, 27, "Disease"))]
    review = review_consistency(system_a, system_b)
    assert [(i.start, i.end, i.status) for i in review.queue] == [
        (0, 27, "only_b"),
        (16, 27, "only_a"),
    ]
    assert review.micro_agreement == 0.0


def test_discontinuous_entities_compare_all_their_spans():
    text = "breast and ovarian cancer"
    whole = Entity("T1", "Disease", "breast cancer", [(0, 6), (19, 25)])
    other = Entity("T1", "Disease", "breast ovarian", [(0, 6), (11, 18)])
    a = [Document("1", "demo", "test", text, entities=[whole])]
    review = review_consistency(a, [Document("1", "demo", "test", text, entities=[whole])])
    assert review.micro_agreement == 1.0 and review.queue == []
    review = review_consistency(a, [Document("1", "demo", "test", text, entities=[other])])
    assert [(i.text, i.status, i.offsets) for i in review.queue] == [
        ("breast ovarian", "only_b", ((0, 6), (11, 18))),
        ("breast cancer", "only_a", ((0, 6), (19, 25))),
    ]


def test_empty_systems_agree_fully():
    review = review_consistency([], [])
    assert review.micro_agreement == 1.0 and review.full_agreement_share == 1.0
    assert review.queue == [] and review.accepted == []


def test_mismatched_documents_are_rejected():
    system_a, system_b = systems()
    with pytest.raises(ValueError, match="document '2' is in system 'x' but not in system 'y'"):
        review_consistency(system_a, system_b[:2], names=("x", "y"))
    with pytest.raises(ValueError, match="document '1' is in system 'b' but not in system 'a'"):
        review_consistency(system_a[1:], system_b)
    with pytest.raises(ValueError, match="document '1' has a different text"):
        review_consistency(system_a, [doc("1", TEXT_1 + " ")] + system_b[::2])
    with pytest.raises(ValueError, match="document '2' appears twice in system 'a'"):
        review_consistency([*system_a, system_a[1]], system_b)


def test_html_page_highlights_and_escapes():
    text = 'Fever <script>alert("x")</script> & rash.'
    fever, rash = (0, 5), (text.index("rash"), text.index("rash") + 4)
    script = (text.index("<script>"), text.index("</script>") + len("</script>"))
    system_a = [doc("d<1>", text, (*fever, "Disease"), (*script, "Chemical"))]
    system_b = [doc("d<1>", text, (*fever, "Disease"), (*rash, "Disease"))]
    review = review_consistency(system_a, system_b, names=("A&1", "B"))
    page = render_review_html(review, {d.id: d for d in system_a}, title="DMCR <demo>")
    assert page.startswith("<!DOCTYPE html>")
    assert "<script" not in page
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in page
    assert "<title>DMCR &lt;demo&gt;</title>" in page
    assert "<h2>d&lt;1&gt;</h2>" in page
    assert "only A&amp;1" in page
    assert '<span class="agree" title="agreed: Disease">Fever</span>' in page
    assert '<span class="b" title="B: Disease">rash</span>' in page
    assert '<span class="a" title="A&amp;1: Chemical">&lt;script&gt;' in page
    assert "agreement 0.333 (1 of 3)" in page


def test_html_type_difference_uses_both_colours_and_skips_agreeing_documents():
    system_a, system_b = systems()
    review = review_consistency(system_a, system_b)
    page = render_review_html(review, {d.id: d for d in system_a}, title="t")
    assert '<span class="a b" title="a: Disease; b: Chemical">hypotension</span>' in page
    assert "<h2>1</h2>" in page and "<h2>3</h2>" in page and "<h2>2</h2>" not in page


def test_html_without_disagreements_and_missing_documents():
    system_a, _ = systems()
    review = review_consistency(system_a, system_a)
    assert "No disagreements." in render_review_html(review, {}, title="t")
    review = review_consistency(*systems())
    with pytest.raises(ValueError, match="document '1' of the review queue is not in docs_by_id"):
        render_review_html(review, {}, title="t")
