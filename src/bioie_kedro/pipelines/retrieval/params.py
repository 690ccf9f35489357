"""Typed parameters of the retrieval pipeline (``conf/*/parameters_retrieval.yml``)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from bioie_kedro.retrieval.bm25 import BM25_METHODS
from bioie_kedro.retrieval.index import IndexSettings
from bioie_kedro.retrieval.neighbours import RAIT_STRATEGIES, NeighbourSettings
from bioie_kedro.retrieval.selection import SelectionSettings
from bioie_kedro.token_classification import BUNDLED_MINILM


class EmbedderParams(BaseModel):
    """Which embedder makes the vectors (``bioie_kedro.retrieval.embedders``)."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["sentence_transformers", "transformers", "flag", "hashing"] = Field(
        "sentence_transformers",
        description="sentence_transformers | transformers (explicit pooling) | flag "
        "(FlagEmbedding, if installed) | hashing (model-free bag of words).",
    )
    model_name_or_path: str = Field(BUNDLED_MINILM, description="Local path or hub name.")
    pooling: Literal["mean", "cls"] | None = Field(
        None,
        description="mean (MiniLM) or cls (BGE, BGE-M3); null keeps a sentence-transformers "
        "model's own pooling (transformers: mean, flag: cls).",
    )
    max_length: int | None = Field(
        None, description="Sub-tokens per text (null: the model's limit; transformers 512)."
    )
    batch_size: int = Field(64, ge=1)
    device: str | None = Field(None, description="null: cuda when available, else cpu.")
    trust_remote_code: bool = False
    use_fp16: bool = Field(False, description="flag only.")
    dimension: int = Field(512, ge=2, description="hashing only: number of buckets.")

    def settings(self) -> dict[str, Any]:
        """Constructor arguments of the chosen kind (``build_embedder`` takes them)."""
        if self.kind == "hashing":
            return {"kind": "hashing", "dimension": self.dimension}
        settings: dict[str, Any] = {
            "kind": self.kind,
            "model_name_or_path": self.model_name_or_path,
            "pooling": self.pooling,
            "max_length": self.max_length,
            "device": self.device,
        }
        if self.kind == "flag":
            settings["use_fp16"] = self.use_fp16
        else:
            settings["trust_remote_code"] = self.trust_remote_code
        return settings


class IndexParams(BaseModel):
    """FAISS index kind (``bioie_kedro.retrieval.index``)."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["auto", "flat", "hnsw", "ivf"] = Field(
        "auto", description="auto: exact (flat) up to exact_max_size vectors, hnsw above."
    )
    exact_max_size: int = Field(50_000, ge=1)
    hnsw_m: int = Field(32, ge=4)
    hnsw_ef_construction: int = Field(200, ge=1)
    hnsw_ef_search: int = Field(32, ge=1)
    ivf_nlist: int | None = Field(None, description="null: 4 * sqrt(pool size).")
    ivf_nprobe: int = Field(16, ge=1)

    def settings(self) -> IndexSettings:
        return IndexSettings(**self.model_dump())


class Bm25Params(BaseModel):
    """BM25 (``bm25s``) for RA-IT rejection/re-ranking and BM25 + dense fusion."""

    model_config = ConfigDict(extra="forbid")

    method: str = Field("lucene", description=f"One of {', '.join(BM25_METHODS)}.")
    k1: float = 1.5
    b: float = 0.75
    stopwords: str | None = Field("en", description="bm25s stopword list; null keeps all words.")

    @model_validator(mode="after")
    def _known_method(self) -> Bm25Params:
        if self.method not in BM25_METHODS:
            raise ValueError(f"bm25.method must be one of {BM25_METHODS}, got {self.method!r}")
        return self


class RerankerParams(BaseModel):
    """Second stage of RAG-ICL selection."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["cross_encoder", "flag", "bm25_fusion"] = Field(
        "cross_encoder",
        description="cross_encoder: any sequence-classification model via transformers; flag: "
        "FlagReranker (if installed); bm25_fusion: reciprocal rank fusion of dense and BM25 ranks.",
    )
    model_name_or_path: str | None = Field(None, description="cross_encoder and flag only.")
    max_length: int = Field(512, description="Sub-tokens per (query, candidate) pair.")
    batch_size: int = Field(16, ge=1)
    device: str | None = None
    trust_remote_code: bool = False
    use_fp16: bool = Field(False, description="flag only.")
    rrf_k: int = Field(60, ge=1, description="bm25_fusion only: the RRF constant.")
    threshold: float | None = Field(
        None, description="Drop candidates whose cross-encoder score (0-1) is below this."
    )

    @model_validator(mode="after")
    def _model_given(self) -> RerankerParams:
        if self.kind != "bm25_fusion" and not self.model_name_or_path:
            raise ValueError(f"reranker kind {self.kind!r} needs model_name_or_path")
        return self


class SelectionParams(BaseModel):
    """RAG-ICL selection for every unit of ``<corpus>/<query_split>``."""

    model_config = ConfigDict(extra="forbid")

    query_split: str = "test"
    search_type: Literal["similarity", "mmr", "threshold"] = "similarity"
    k: int = Field(30, ge=1, description="First-stage candidates.")
    n: int = Field(10, ge=1, description="Examples kept per query.")
    score_threshold: float | None = Field(
        None, description="Minimum dense (cosine) similarity, applied whenever set."
    )
    mmr_lambda: float = Field(0.5, ge=0, le=1)
    mmr_fetch_k: int | None = Field(None, description="MMR candidate pool (null: 4 * k).")
    exclude_duplicate_text: bool = Field(
        False, description="Never select a training unit with exactly the query's text."
    )
    reranker: RerankerParams | None = None

    @model_validator(mode="after")
    def _threshold_given(self) -> SelectionParams:
        if self.search_type == "threshold" and self.score_threshold is None:
            raise ValueError("selection.search_type 'threshold' needs selection.score_threshold")
        return self

    def settings(self) -> SelectionSettings:
        return SelectionSettings(
            k=self.k,
            n=self.n,
            search_type=self.search_type,
            score_threshold=self.score_threshold,
            mmr_lambda=self.mmr_lambda,
            mmr_fetch_k=self.mmr_fetch_k,
            rerank_threshold=self.reranker.threshold if self.reranker else None,
        )


class NeighboursParams(BaseModel):
    """RA-IT neighbours for every unit of each split in ``splits``."""

    model_config = ConfigDict(extra="forbid")

    k: int = Field(2, ge=1)
    strategies: list[str] = Field(default_factory=lambda: list(RAIT_STRATEGIES))
    top: int = Field(128, ge=1, description="Nearest units for diverse_nearest and bm25_rerank.")
    bm25_threshold: float = Field(
        20.0, description="nearest_bm25_reject: minimum BM25 score (20 in the RA-IT paper)."
    )
    bm25_quantile: float | None = Field(
        None,
        ge=0,
        lt=1,
        description="Calibrate the threshold on the data instead: this quantile of the BM25 scores "
        "of every sample's k nearest neighbours (bm25_threshold is then ignored).",
    )
    splits: list[str] = Field(
        default_factory=lambda: ["train"],
        description="Splits whose units get neighbours (train for RA-IT training; add the test "
        "split for inference-time examples).",
    )

    @model_validator(mode="after")
    def _known_strategies(self) -> NeighboursParams:
        unknown = [s for s in self.strategies if s not in RAIT_STRATEGIES]
        if unknown:
            raise ValueError(f"unknown strategies {unknown}; known: {list(RAIT_STRATEGIES)}")
        return self

    def settings(self, seed: int) -> NeighbourSettings:
        return NeighbourSettings(
            k=self.k,
            top=max(self.top, self.k),
            bm25_threshold=self.bm25_threshold,
            seed=seed,
            bm25_quantile=self.bm25_quantile,
        )


class QualityParams(BaseModel):
    """The retrieval quality report."""

    model_config = ConfigDict(extra="forbid")

    k: int = Field(10, ge=1, description="Label overlap@k of the selected ICL examples.")
    type_map: dict[str, str] = Field(
        default_factory=dict, description="Rename entity types before comparing them."
    )


class RetrievalParams(BaseModel):
    """Root key ``retrieval``: one corpus per run, its training split as the pool."""

    model_config = ConfigDict(extra="forbid")

    corpus: str = Field(description="Corpus (partition prefix of `documents`).")
    train_split: str = Field("train", description="The pool: training units to retrieve.")
    granularity: Literal["document", "sentence"] = "document"
    seed: int = 0
    embedder: EmbedderParams = Field(default_factory=EmbedderParams)
    index: IndexParams = Field(default_factory=IndexParams)
    bm25: Bm25Params = Field(default_factory=Bm25Params)
    selection: SelectionParams = Field(default_factory=SelectionParams)
    neighbours: NeighboursParams = Field(default_factory=NeighboursParams)
    quality: QualityParams = Field(default_factory=QualityParams)

    @classmethod
    def parse(cls, raw: dict[str, Any] | None) -> RetrievalParams:
        return cls.model_validate(raw or {})
