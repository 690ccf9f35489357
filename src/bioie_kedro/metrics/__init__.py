"""The scoring core every system of the project is measured with: NER, RE and string-level scores.

* :func:`score_entities`: span-level NER under the SemEval schemes (:data:`SCHEMES`) via
  nervaluate, micro, per type and by entity length, with bootstrap intervals over documents.
* :func:`score_relations`: relation extraction at the mention or the concept level.
* :func:`score_strings`: instruction-style string answers (IEPile, RA-IT), multiset or set
  matching, with parse failures counted; :func:`merge_chunk_predictions` merges schema chunks.
* :class:`PRF` and :func:`bootstrap_f1_ci`: the shared arithmetic.

Importing this package loads numpy and nervaluate only.
"""

from bioie_kedro.metrics.counts import PRF, bootstrap_f1_ci
from bioie_kedro.metrics.ner import SCHEMES, NerScores, SchemeScores, score_entities
from bioie_kedro.metrics.pairing import DocumentMismatchError
from bioie_kedro.metrics.relations import ReScores, score_relations
from bioie_kedro.metrics.strings import (
    StringRecord,
    StringScores,
    merge_chunk_predictions,
    normalize_mention,
    records_from_documents,
    score_strings,
)

__all__ = [
    "PRF",
    "SCHEMES",
    "DocumentMismatchError",
    "NerScores",
    "ReScores",
    "SchemeScores",
    "StringRecord",
    "StringScores",
    "bootstrap_f1_ci",
    "merge_chunk_predictions",
    "normalize_mention",
    "records_from_documents",
    "score_entities",
    "score_relations",
    "score_strings",
]
