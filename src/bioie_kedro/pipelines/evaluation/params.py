"""Typed parameters of the evaluation pipeline (``conf/*/parameters_evaluation.yml``)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class CorpusEvaluationParams(BaseModel):
    """How a corpus is scored."""

    model_config = ConfigDict(extra="forbid")

    type_map: dict[str, str] = Field(
        default_factory=dict, description="Rename entity types on both sides before scoring."
    )
    types: list[str] | None = Field(None, description="Score only these types (after renaming).")
    relation_mode: Literal["mention", "concept"] = Field(
        "mention",
        description="concept: pairs of normalized ids per document, as BC5CDR CID is scored.",
    )


class SystemParams(BaseModel):
    """One system of the comparison."""

    model_config = ConfigDict(extra="forbid")

    label: str = Field(description="Name shown in tables and plots.")
    tasks: list[Literal["ner", "relations", "strings"]] = Field(
        default_factory=lambda: ["ner"],
        description="ner: span-level SemEval scores; relations; strings: string-level scores of the "
        "mention lists (decoders: their raw answers, see metrics.strings.PREDICTED_MENTIONS_ATTRIBUTE).",
    )


class EvaluationParams(BaseModel):
    """Root key ``evaluation``."""

    model_config = ConfigDict(extra="forbid")

    bootstrap: int = Field(
        1000, ge=0, description="Bootstrap resamples over documents for F1 intervals (0 = none)."
    )
    seed: int = 0
    string_matching: Literal["multiset", "set"] = Field(
        "multiset", description="String-level matching (IEPile)."
    )
    string_normalize: bool = Field(
        False, description="Lower-case, strip punctuation and articles before matching."
    )
    corpora: dict[str, CorpusEvaluationParams] = Field(default_factory=dict)
    systems: dict[str, SystemParams] = Field(default_factory=dict)

    @classmethod
    def parse(cls, raw: dict[str, Any] | None) -> EvaluationParams:
        return cls.model_validate(raw or {})

    def corpus(self, name: str) -> CorpusEvaluationParams:
        return self.corpora.get(name, CorpusEvaluationParams())
