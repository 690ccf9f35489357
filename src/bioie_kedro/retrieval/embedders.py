"""Text embedders behind one interface: float32, L2-normalised vectors (inner product = cosine).

* :class:`SentenceTransformerEmbedder` — sentence-transformers; the default is the bundled
  all-MiniLM-L6-v2 (offline, mean pooling, 384 dimensions).
* :class:`TransformersEmbedder` — any Hugging Face encoder through ``transformers.AutoModel`` with
  ``pooling="mean"`` (MiniLM and other sentence-transformers models) or ``pooling="cls"`` (BGE,
  BGE-M3: their dense vector is the normalised CLS state), so BGE works without FlagEmbedding.
* :class:`FlagEmbedder` — FlagEmbedding's ``FlagModel`` when that package is installed (it is not a
  dependency of the project: ``pip install FlagEmbedding``).
* :class:`HashingEmbedder` — a model-free, deterministic hashed bag of words (and word bigrams);
  used by the tests and by ``conf/test``, and a no-model option when no encoder is available.

BM25 is a sparse scorer, not a vector embedder: :mod:`bioie_kedro.retrieval.bm25`.

Every embedder describes itself with :meth:`Embedder.settings` (JSON-ready); :func:`build_embedder`
rebuilds it from that dict, which is how a saved index knows how to embed its queries. Models are
loaded on the first :meth:`~Embedder.encode`, and torch, transformers and sentence-transformers are
imported there, never at import time.
"""

from __future__ import annotations

import hashlib
import importlib.util
import logging
import math
import re
from abc import ABC, abstractmethod
from collections import Counter
from collections.abc import Sequence
from functools import lru_cache
from typing import Any, ClassVar, Literal

import numpy as np

from bioie_kedro.token_classification import BUNDLED_MINILM, resolve_model_name

logger = logging.getLogger(__name__)

Pooling = Literal["mean", "cls"]


def l2_normalise(vectors: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length, as C-contiguous float32; all-zero rows stay zero."""
    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    if vectors.ndim != 2:
        raise ValueError(f"expected a 2-D array of vectors, got shape {vectors.shape}")
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    np.divide(vectors, norms, out=vectors, where=norms > 0)
    return vectors


class Embedder(ABC):
    """Turns texts into unit-length float32 vectors, one row per text, in input order."""

    kind: ClassVar[str]

    @abstractmethod
    def encode(self, texts: Sequence[str], batch_size: int = 64) -> np.ndarray:
        """An array of shape ``(len(texts), dimension)``, float32, rows L2-normalised."""

    @abstractmethod
    def settings(self) -> dict[str, Any]:
        """``{"kind": ..., **constructor arguments}``; :func:`build_embedder` takes it back."""

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.settings().items() if k != "kind")
        return f"{type(self).__name__}({args})"


def _empty(dimension: int | None) -> np.ndarray:
    return np.zeros((0, dimension or 0), dtype=np.float32)


# --------------------------------------------------------------------------------------------
# Model-free
# --------------------------------------------------------------------------------------------

_WORD = re.compile(r"\w+")


@lru_cache(maxsize=200_000)
def _feature_hash(feature: str) -> int:
    # blake2b, not hash(): the same text gets the same vector in every process and on every run
    return int.from_bytes(hashlib.blake2b(feature.encode("utf-8"), digest_size=8).digest(), "big")


class HashingEmbedder(Embedder):
    """A hashed bag of lower-cased words (plus word bigrams when ``bigrams``), weighted
    ``1 + log(count)``, with a sign bit per feature so collisions cancel on average.

    Deterministic and model-free: similar wording gives similar vectors, nothing more. Good for
    tests and as a no-model baseline; it knows no synonyms. A text without words gets a zero
    vector (similarity 0 to everything).
    """

    kind = "hashing"

    def __init__(self, *, dimension: int = 512, bigrams: bool = True) -> None:
        if dimension < 2:
            raise ValueError(f"dimension must be at least 2, got {dimension}")
        self.dimension = dimension
        self.bigrams = bigrams

    def _features(self, text: str) -> Counter[str]:
        words = _WORD.findall(text.lower())
        features = Counter(words)
        if self.bigrams:
            features.update(f"{a} {b}" for a, b in zip(words, words[1:], strict=False))
        return features

    def encode(self, texts: Sequence[str], batch_size: int = 64) -> np.ndarray:
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for row, text in enumerate(texts):
            for feature, count in self._features(text).items():
                value = _feature_hash(feature)
                sign = 1.0 if value >> 63 else -1.0
                out[row, value % self.dimension] += sign * (1.0 + math.log(count))
        return l2_normalise(out)

    def settings(self) -> dict[str, Any]:
        return {"kind": self.kind, "dimension": self.dimension, "bigrams": self.bigrams}


# --------------------------------------------------------------------------------------------
# Neural encoders (lazy)
# --------------------------------------------------------------------------------------------


def default_device() -> str:
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


class SentenceTransformerEmbedder(Embedder):
    """A sentence-transformers model by local path or hub name (``bundled:all-MiniLM-L6-v2`` by
    default, offline). ``pooling=None`` keeps the model's own pooling (mean for MiniLM);
    ``"mean"``/``"cls"`` overrides it. ``max_length=None`` keeps the model's ``max_seq_length``
    (256 sub-tokens for MiniLM; longer texts are truncated by the model, as sentence-transformers
    always does)."""

    kind = "sentence_transformers"

    def __init__(
        self,
        model_name_or_path: str = BUNDLED_MINILM,
        *,
        pooling: Pooling | None = None,
        max_length: int | None = None,
        device: str | None = None,
        trust_remote_code: bool = False,
    ) -> None:
        self.model_name_or_path = model_name_or_path
        self.pooling = pooling
        self.max_length = max_length
        self.device = device
        self.trust_remote_code = trust_remote_code
        self._model = None

    @property
    def model(self):
        if self._model is None:
            from sentence_transformers import SentenceTransformer

            model = SentenceTransformer(
                resolve_model_name(self.model_name_or_path),
                device=self.device or default_device(),
                trust_remote_code=self.trust_remote_code,
            )
            if self.pooling is not None:
                _set_pooling(model, self.pooling)
            if self.max_length is not None:
                model.max_seq_length = self.max_length
            model.eval()
            self._model = model
        return self._model

    def encode(self, texts: Sequence[str], batch_size: int = 64) -> np.ndarray:
        if not texts:
            return _empty(self.model.get_sentence_embedding_dimension())
        vectors = self.model.encode(
            list(texts),
            batch_size=batch_size,
            show_progress_bar=False,
            convert_to_numpy=True,
            normalize_embeddings=True,
        )
        return l2_normalise(vectors)

    def settings(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "model_name_or_path": self.model_name_or_path,
            "pooling": self.pooling,
            "max_length": self.max_length,
            "device": self.device,
            "trust_remote_code": self.trust_remote_code,
        }


def _set_pooling(model: Any, pooling: Pooling) -> None:
    """Switch every pooling module of a SentenceTransformer to ``pooling``."""
    found = False
    for module in model.modules():
        if type(module).__name__ != "Pooling":
            continue
        found = True
        if hasattr(module, "pooling_mode_cls_token"):  # sentence-transformers < 6
            module.pooling_mode_cls_token = pooling == "cls"
            module.pooling_mode_mean_tokens = pooling == "mean"
            module.pooling_mode_max_tokens = False
            module.pooling_mode_mean_sqrt_len_tokens = False
        else:
            module.pooling_mode = pooling
    if not found:
        raise ValueError("the sentence-transformers model has no Pooling module to configure")


class TransformersEmbedder(Embedder):
    """Any Hugging Face encoder (``AutoModel``) with explicit pooling over the last hidden state:
    ``"mean"`` (average of non-padding sub-tokens; sentence-transformers models such as MiniLM) or
    ``"cls"`` (the first token; BGE and BGE-M3, whose dense embedding is the normalised CLS state).
    Texts are sorted by length and batched under ``torch.inference_mode``; longer than
    ``max_length`` sub-tokens are truncated (the model's own limit if that is lower)."""

    kind = "transformers"

    def __init__(
        self,
        model_name_or_path: str = BUNDLED_MINILM,
        *,
        pooling: Pooling = "mean",
        max_length: int = 512,
        device: str | None = None,
        trust_remote_code: bool = False,
    ) -> None:
        if pooling not in ("mean", "cls"):
            raise ValueError(f"pooling must be 'mean' or 'cls', got {pooling!r}")
        self.model_name_or_path = model_name_or_path
        self.pooling = pooling
        self.max_length = max_length
        self.device = device
        self.trust_remote_code = trust_remote_code
        self._loaded: tuple[Any, Any, str] | None = None

    def _load(self) -> tuple[Any, Any, str]:
        if self._loaded is None:
            from transformers import AutoModel, AutoTokenizer

            path = resolve_model_name(self.model_name_or_path)
            tokenizer = AutoTokenizer.from_pretrained(
                path, trust_remote_code=self.trust_remote_code
            )
            model = AutoModel.from_pretrained(path, trust_remote_code=self.trust_remote_code)
            device = self.device or default_device()
            model.to(device).eval()
            self._loaded = (tokenizer, model, device)
        return self._loaded

    def encode(self, texts: Sequence[str], batch_size: int = 64) -> np.ndarray:
        import torch

        tokenizer, model, device = self._load()
        if not texts:
            return _empty(model.config.hidden_size)
        limit = self.max_length
        model_limit = getattr(tokenizer, "model_max_length", None)
        if isinstance(model_limit, int) and 0 < model_limit < limit:
            limit = model_limit
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]), reverse=True)
        out = np.zeros((len(texts), model.config.hidden_size), dtype=np.float32)
        with torch.inference_mode():
            for start in range(0, len(order), batch_size):
                rows = order[start : start + batch_size]
                batch = tokenizer(
                    [texts[i] for i in rows],
                    padding=True,
                    truncation=True,
                    max_length=limit,
                    return_tensors="pt",
                ).to(device)
                hidden = model(**batch).last_hidden_state
                if self.pooling == "cls":
                    pooled = hidden[:, 0]
                else:
                    mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
                    pooled = (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1e-9)
                out[rows] = pooled.float().cpu().numpy()
        return l2_normalise(out)

    def settings(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "model_name_or_path": self.model_name_or_path,
            "pooling": self.pooling,
            "max_length": self.max_length,
            "device": self.device,
            "trust_remote_code": self.trust_remote_code,
        }


def flag_embedding_available() -> bool:
    """Whether the optional FlagEmbedding package is installed."""
    return importlib.util.find_spec("FlagEmbedding") is not None


class FlagEmbedder(Embedder):
    """FlagEmbedding's ``FlagModel`` (BGE, BGE-M3 dense) by local path or hub name; only when the
    optional ``FlagEmbedding`` package is installed. Without it, :class:`TransformersEmbedder` with
    ``pooling="cls"`` computes the same dense vectors."""

    kind = "flag"

    def __init__(
        self,
        model_name_or_path: str,
        *,
        pooling: Pooling = "cls",
        max_length: int = 512,
        use_fp16: bool = False,
        device: str | None = None,
    ) -> None:
        self.model_name_or_path = model_name_or_path
        self.pooling = pooling
        self.max_length = max_length
        self.use_fp16 = use_fp16
        self.device = device
        self._model = None

    @property
    def model(self):
        if self._model is None:
            if not flag_embedding_available():
                raise ImportError(
                    "FlagEmbedder needs `pip install FlagEmbedding`; without it use "
                    "kind: transformers with pooling: cls (the same dense vectors for BGE / BGE-M3)"
                )
            from FlagEmbedding import FlagModel

            kwargs: dict[str, Any] = {
                "pooling_method": self.pooling,
                "normalize_embeddings": True,
                "use_fp16": self.use_fp16,
            }
            if self.device is not None:
                kwargs["devices"] = self.device
            self._model = FlagModel(resolve_model_name(self.model_name_or_path), **kwargs)
        return self._model

    def encode(self, texts: Sequence[str], batch_size: int = 64) -> np.ndarray:
        if not texts:
            return _empty(None)
        vectors = self.model.encode(list(texts), batch_size=batch_size, max_length=self.max_length)
        if isinstance(vectors, dict):  # BGE-M3 style output
            vectors = vectors["dense_vecs"]
        return l2_normalise(np.asarray(vectors))

    def settings(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "model_name_or_path": self.model_name_or_path,
            "pooling": self.pooling,
            "max_length": self.max_length,
            "use_fp16": self.use_fp16,
            "device": self.device,
        }


EMBEDDERS: dict[str, type[Embedder]] = {
    cls.kind: cls
    for cls in (HashingEmbedder, SentenceTransformerEmbedder, TransformersEmbedder, FlagEmbedder)
}


def build_embedder(settings: dict[str, Any]) -> Embedder:
    """An embedder from ``{"kind": ..., **arguments}`` (what :meth:`Embedder.settings` returns).

    ``None`` values are left out, so the constructor's default applies.
    """
    arguments = {k: v for k, v in settings.items() if v is not None}
    kind = arguments.pop("kind", SentenceTransformerEmbedder.kind)
    if kind not in EMBEDDERS:
        raise ValueError(f"unknown embedder kind {kind!r} (known: {', '.join(EMBEDDERS)})")
    return EMBEDDERS[kind](**arguments)
