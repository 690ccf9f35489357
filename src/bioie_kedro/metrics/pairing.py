"""Pairing of predicted with gold documents by id, shared by the NER and RE scorers.

Gold decides what is scored: every gold document is scored once; a gold document without a
prediction counts as predicting nothing (and is counted, so a truncated prediction file shows).
A predicted document that gold does not know, or whose text differs from the gold text, is an
error rather than something to skip, because offsets are only comparable on identical text.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from bioie_kedro.schema import Document


class DocumentMismatchError(ValueError):
    """Predicted documents do not line up with gold; the message names the document (and offset)."""

    def __init__(self, document_id: str, problem: str, offset: int | None = None):
        self.document_id = document_id
        self.problem = problem
        self.offset = offset
        super().__init__(f"document {document_id!r}: {problem}")


@dataclass(frozen=True, slots=True)
class DocumentPair:
    """A gold document and its prediction (None: the system predicted nothing for it)."""

    gold: Document
    predicted: Document | None


def first_difference(a: str, b: str) -> int | None:
    """The first character offset at which ``a`` and ``b`` differ; None when they are equal."""
    if a == b:
        return None
    for index, (char_a, char_b) in enumerate(zip(a, b)):
        if char_a != char_b:
            return index
    return min(len(a), len(b))


def pair_documents(gold: Sequence[Document], predicted: Sequence[Document]) -> list[DocumentPair]:
    """Match predicted documents to gold documents by ``id``, in gold order.

    Raises:
        DocumentMismatchError: a document id repeated within gold or within the predictions, a
            predicted id absent from gold, or a predicted text that differs from the gold text
            (the message gives the first differing character offset).
    """
    gold_by_id: dict[str, Document] = {}
    for doc in gold:
        if doc.id in gold_by_id:
            raise DocumentMismatchError(doc.id, "appears more than once in the gold documents")
        gold_by_id[doc.id] = doc
    predicted_by_id: dict[str, Document] = {}
    for doc in predicted:
        if doc.id in predicted_by_id:
            raise DocumentMismatchError(doc.id, "appears more than once in the predictions")
        reference = gold_by_id.get(doc.id)
        if reference is None:
            raise DocumentMismatchError(
                doc.id, "predicted document id is not in the gold documents"
            )
        offset = first_difference(reference.text, doc.text)
        if offset is not None:
            raise DocumentMismatchError(
                doc.id,
                f"predicted text differs from the gold text at character offset {offset} "
                f"(gold {reference.text[offset : offset + 20]!r}, "
                f"predicted {doc.text[offset : offset + 20]!r})",
                offset,
            )
        predicted_by_id[doc.id] = doc
    return [DocumentPair(doc, predicted_by_id.get(doc.id)) for doc in gold]
