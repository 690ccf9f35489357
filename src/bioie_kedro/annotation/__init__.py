"""LLM annotation of sentences with relations: prompts, backends, the answer cache, the runner.

* :mod:`~bioie_kedro.annotation.prompts`: the per-sentence prompt and JSON schema, strict parsing
  and validation of answers against the sentence's entities and the relation spec.
* :mod:`~bioie_kedro.annotation.backends`: one interface, ``annotate(prompts) -> list[str]``, over
  an OpenAI-compatible HTTP server, vLLM's offline engine, or a local transformers decoder.
* :mod:`~bioie_kedro.annotation.cache`: answers on disk (SQLite, WAL), keyed by model and prompt.
* :mod:`~bioie_kedro.annotation.runner`: cached, resumable annotation of a list of prompts.

Importing this package loads no HTTP client and no model library.
"""

from bioie_kedro.annotation.backends import (
    DEFAULT_API_KEY_ENV,
    AnnotationError,
    Annotator,
    AnnotatorUnavailable,
    ApiKey,
    DecoderAnnotator,
    HttpChatAnnotator,
    HttpSettings,
    VllmAnnotator,
    VllmSettings,
    build_annotator,
)
from bioie_kedro.annotation.cache import AnswerCache
from bioie_kedro.annotation.prompts import (
    ANSWER_PROBLEMS,
    REJECTION_REASONS,
    AnnotationPrompt,
    ValidatedAnswer,
    parse_relation_answer,
    relation_prompt,
    validate_answer,
)
from bioie_kedro.annotation.runner import AnnotationRunStats, annotate_with_cache

__all__ = [
    "ANSWER_PROBLEMS",
    "DEFAULT_API_KEY_ENV",
    "REJECTION_REASONS",
    "AnnotationError",
    "AnnotationPrompt",
    "AnnotationRunStats",
    "Annotator",
    "AnnotatorUnavailable",
    "AnswerCache",
    "ApiKey",
    "DecoderAnnotator",
    "HttpChatAnnotator",
    "HttpSettings",
    "ValidatedAnswer",
    "VllmAnnotator",
    "VllmSettings",
    "annotate_with_cache",
    "build_annotator",
    "parse_relation_answer",
    "relation_prompt",
    "validate_answer",
]
