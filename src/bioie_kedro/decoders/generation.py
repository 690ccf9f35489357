"""Batched generation: prompts sorted by length, left padding, KV cache, bounded new tokens.

:func:`generate` answers each prompt once (greedy by default), :func:`generate_samples` gives
several sampled answers per prompt (preference-pair mining). Prompts are chat texts from
:func:`bioie_kedro.decoders.chat.render_prompt` (or token-id lists); they are tokenized without
special tokens, exactly as in training. Answers stop at the end-of-turn token or after
``max_new_tokens``; how many hit the bound is counted in :class:`GenerationStats`.

A model with a position limit (``config.max_position_embeddings``: 512 for the MiniLM decoder)
never runs past it: a batch's new-token budget shrinks to the room its (padded) prompts leave
(``capped_by_context`` answers), and a prompt that leaves no room at all gets an empty answer
(``prompts_too_long``, with a warning) instead of a crash halfway through a long run.

**Copying mentions** (``copy_mentions``, greedy decoding, transformers backend): each prompt comes
with its source text, and every JSON string of the answer must be copied from it. At each step
inside a string, the best-scoring of the ``copy_top_k`` most likely tokens that keeps the string a
piece of the source (compared lower-cased, without white space or accents, as the parser restores
surface forms) is chosen; a string may not close empty. When none of them does, the step is left
free and counted (``copy_unconstrained_steps``): the parser then drops or restores the mention as
it would without the constraint. For answer formats whose strings are all mentions (the listing
and conversation formats; IEPile's keys are type names).

Backends: ``transformers`` (``model.generate`` in batches under ``torch.inference_mode``),
``vllm`` (vLLM's offline engine; needs vLLM, a GPU and a model saved on disk), ``auto`` (vLLM when
both are present, else transformers). :func:`generate_one_by_one` is the unbatched baseline of the
throughput benchmark.
"""

from __future__ import annotations

import logging
import time
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from bioie_kedro.decoders.chat import end_of_turn_id
from bioie_kedro.progress import progress

logger = logging.getLogger(__name__)

Backend = Literal["transformers", "vllm", "auto"]


@dataclass
class GenerationSettings:
    """Decoding settings (``GenerationConfig`` names where there is one)."""

    max_new_tokens: int = 128
    batch_size: int = 16
    do_sample: bool = False
    temperature: float = 1.0
    top_p: float = 1.0
    num_return_sequences: int = 1
    seed: int = 0
    sort_by_length: bool = True
    backend: Backend = "transformers"
    #: every JSON string of an answer is copied from the prompt's source text (module notes)
    copy_mentions: bool = False
    copy_top_k: int = 16

    def __post_init__(self) -> None:
        if self.max_new_tokens < 1 or self.batch_size < 1 or self.num_return_sequences < 1:
            raise ValueError("max_new_tokens, batch_size and num_return_sequences must be >= 1")
        if self.copy_mentions and self.do_sample:
            raise ValueError("copy_mentions constrains greedy decoding; it needs do_sample=False")
        if self.copy_top_k < 1:
            raise ValueError("copy_top_k must be >= 1")
        if self.num_return_sequences > 1 and not self.do_sample:
            raise ValueError("several answers per prompt need do_sample=True")
        if self.backend not in ("transformers", "vllm", "auto"):
            raise ValueError(f"unknown generation backend {self.backend!r}")


@dataclass
class GenerationStats:
    prompts: int = 0
    answers: int = 0
    new_tokens: int = 0
    hit_max_new_tokens: int = 0
    capped_by_context: int = 0
    prompts_too_long: int = 0
    seconds: float = 0.0
    backend: str = "transformers"
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def prompts_per_second(self) -> float:
        return self.prompts / self.seconds if self.seconds else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "prompts": self.prompts,
            "answers": self.answers,
            "new_tokens": self.new_tokens,
            "hit_max_new_tokens": self.hit_max_new_tokens,
            "capped_by_context": self.capped_by_context,
            "prompts_too_long": self.prompts_too_long,
            "seconds": round(self.seconds, 3),
            "prompts_per_second": round(self.prompts_per_second, 2),
            "backend": self.backend,
            **self.extra,
        }


def _prompt_ids(tokenizer: Any, prompts: Sequence[str | Sequence[int]]) -> list[list[int]]:
    return [
        list(prompt)
        if not isinstance(prompt, str)
        else tokenizer(prompt, add_special_tokens=False)["input_ids"]
        for prompt in prompts
    ]


def _stop_ids(tokenizer: Any, model: Any | None = None) -> list[int]:
    stops = {end_of_turn_id(tokenizer)}
    if tokenizer.eos_token_id is not None:
        stops.add(tokenizer.eos_token_id)
    configured = getattr(getattr(model, "generation_config", None), "eos_token_id", None)
    if isinstance(configured, int):
        stops.add(configured)
    elif configured:
        stops.update(configured)
    return sorted(stops)


def _use_vllm(settings: GenerationSettings) -> bool:
    if settings.backend == "transformers":
        return False
    try:
        import torch
        import vllm  # noqa: F401
    except ImportError:
        available = False
    else:
        available = torch.cuda.is_available()
    if settings.backend == "vllm" and not available:
        raise RuntimeError("generation backend 'vllm' needs the vllm package and a CUDA GPU")
    return available


def position_limit(model: Any) -> int | None:
    """The most positions ``model`` reads (prompt + answer), or ``None`` when it does not say."""
    config = getattr(model, "config", None)
    limit = getattr(config, "max_position_embeddings", None)
    return limit if isinstance(limit, int) and limit > 0 else None


def _copy_key(text: str) -> str:
    """``text`` lower-cased, without white space or accents: how copied strings are compared."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(
        char for char in decomposed if not char.isspace() and not unicodedata.combining(char)
    ).lower()


def json_strings(text: str) -> list[tuple[int, str, bool]]:
    """The JSON strings of (possibly unfinished) ``text``: ``(start, content, closed)`` each.

    ``start`` is the index of the opening quote; escapes (``\\"``) do not end a string; the last
    string of an unfinished answer has ``closed=False``.
    """
    strings: list[tuple[int, str, bool]] = []
    start, escaped, content = -1, False, []
    for index, char in enumerate(text):
        if start < 0:
            if char == '"':
                start, content = index, []
            continue
        if escaped:
            content.append(char)
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == '"':
            strings.append((start, "".join(content), True))
            start = -1
        else:
            content.append(char)
    if start >= 0:
        strings.append((start, "".join(content), False))
    return strings


class MentionCopier:
    """Keeps every JSON string of greedy answers a piece of each prompt's source text.

    A ``transformers`` logits processor (``__call__(input_ids, scores)``) for one batch: row ``i``
    of the batch copies from ``sources[i]``; ``width`` is the padded prompt length, so the answer so
    far is ``input_ids[i, width:]``. See the module notes.
    """

    def __init__(
        self,
        tokenizer: Any,
        sources: Sequence[str],
        *,
        width: int,
        stops: Sequence[int],
        top_k: int = 16,
    ) -> None:
        self.tokenizer = tokenizer
        self.sources = [_copy_key(source) for source in sources]
        self.width = width
        self.stops = set(stops)
        self.top_k = top_k
        self.steered = 0  # steps where the most likely token was replaced
        self.unconstrained = 0  # steps left free: none of the top_k tokens kept the copy

    def _fits(self, source: str, text: str, open_at: int) -> bool:
        for start, content, closed in json_strings(text):
            if start < open_at:
                continue
            key = _copy_key(content)
            if (closed and not key) or key not in source:
                return False
        return True

    def __call__(self, input_ids: Any, scores: Any) -> Any:
        import torch

        for row in range(scores.shape[0]):
            answer = input_ids[row, self.width :].tolist()
            if self.stops.intersection(answer):
                continue
            text = self.tokenizer.decode(answer, skip_special_tokens=True)
            strings = json_strings(text)
            if not strings or strings[-1][2]:
                continue  # outside a string: JSON punctuation is free
            open_at = strings[-1][0]
            candidates = torch.topk(scores[row], min(self.top_k, scores.shape[-1])).indices
            choice = None
            for rank, token in enumerate(candidates.tolist()):
                if token in self.stops:
                    continue  # an answer does not end inside a string
                extended = self.tokenizer.decode(answer + [token], skip_special_tokens=True)
                if extended == text:
                    continue  # a token that writes nothing (a special token) copies nothing
                if self._fits(self.sources[row], extended, open_at):
                    choice, self.steered = token, self.steered + (rank > 0)
                    break
            if choice is None:
                self.unconstrained += 1
                continue
            best = scores[row, choice].clone()
            scores[row] = float("-inf")
            scores[row, choice] = best
        return scores


def _copier_processor(copier: MentionCopier) -> Any:
    from transformers import LogitsProcessor, LogitsProcessorList

    class _Processor(LogitsProcessor):
        def __call__(self, input_ids: Any, scores: Any) -> Any:
            return copier(input_ids, scores)

    return LogitsProcessorList([_Processor()])


def _generate_batches(
    model: Any,
    tokenizer: Any,
    prompts: Sequence[str | Sequence[int]],
    settings: GenerationSettings,
    stats: GenerationStats,
    sources: Sequence[str] | None = None,
) -> list[list[str]]:
    import torch

    ids = _prompt_ids(tokenizer, prompts)
    answers: list[list[str]] = [[] for _ in ids]
    limit = position_limit(model)
    order = list(range(len(ids)))
    if limit is not None:
        too_long = [index for index in order if len(ids[index]) >= limit]
        if too_long:
            stats.prompts_too_long += len(too_long)
            logger.warning(
                "%d of %d prompts have %d+ tokens, the model's position limit: no answer for "
                "them (e.g. prompt %d, %d tokens)",
                len(too_long),
                len(ids),
                limit,
                too_long[0],
                len(ids[too_long[0]]),
            )
            for index in too_long:
                answers[index] = [""] * settings.num_return_sequences
            order = [index for index in order if len(ids[index]) < limit]
    if settings.sort_by_length:
        order.sort(key=lambda index: len(ids[index]))
    stops = _stop_ids(tokenizer, model)
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else stops[0]
    device = next(model.parameters()).device
    generation_kwargs: dict[str, Any] = {
        "max_new_tokens": settings.max_new_tokens,
        "do_sample": settings.do_sample,
        "num_return_sequences": settings.num_return_sequences,
        "eos_token_id": stops,
        "pad_token_id": pad_id,
        "use_cache": True,
    }
    if settings.do_sample:
        generation_kwargs.update(temperature=settings.temperature, top_p=settings.top_p)
        torch.manual_seed(settings.seed)
    else:
        # greedy: neutralise sampling fields a checkpoint's generation_config may carry
        generation_kwargs.update(temperature=None, top_p=None, top_k=None)
    steered = unconstrained = 0
    was_training = model.training
    model.eval()
    try:
        with torch.inference_mode():
            starts = range(0, len(order), settings.batch_size)
            for start in progress(starts, desc="generating", total=len(starts), unit="batch"):
                batch = order[start : start + settings.batch_size]
                width = max(len(ids[index]) for index in batch)
                input_ids = torch.full((len(batch), width), pad_id, dtype=torch.long)
                attention = torch.zeros((len(batch), width), dtype=torch.long)
                for row, index in enumerate(batch):  # left padding
                    length = len(ids[index])
                    input_ids[row, width - length :] = torch.tensor(ids[index])
                    attention[row, width - length :] = 1
                budget = settings.max_new_tokens
                if limit is not None and width + budget > limit:
                    budget = limit - width
                    stats.capped_by_context += len(batch) * settings.num_return_sequences
                extra: dict[str, Any] = {}
                copier = None
                if settings.copy_mentions and sources is not None:
                    copier = MentionCopier(
                        tokenizer,
                        [sources[index] for index in batch],
                        width=width,
                        stops=stops,
                        top_k=settings.copy_top_k,
                    )
                    extra["logits_processor"] = _copier_processor(copier)
                output = model.generate(
                    input_ids=input_ids.to(device),
                    attention_mask=attention.to(device),
                    **{**generation_kwargs, "max_new_tokens": budget},
                    **extra,
                )
                if copier is not None:
                    steered += copier.steered
                    unconstrained += copier.unconstrained
                new = output[:, width:].tolist()
                for row, tokens in enumerate(new):
                    index = batch[row // settings.num_return_sequences]
                    kept = []
                    for token in tokens:
                        if token in stops:
                            break
                        kept.append(token)
                    else:
                        stats.hit_max_new_tokens += 1
                    stats.new_tokens += len(kept)
                    answers[index].append(tokenizer.decode(kept, skip_special_tokens=True))
    finally:
        if was_training:
            model.train()
    if settings.copy_mentions and sources is not None:
        stats.extra.update(copy_steered_steps=steered, copy_unconstrained_steps=unconstrained)
    return answers


def _generate_vllm(
    model_path: str,
    prompts: Sequence[str | Sequence[int]],
    tokenizer: Any,
    settings: GenerationSettings,
    stats: GenerationStats,
) -> list[list[str]]:
    from vllm import LLM, SamplingParams

    llm = LLM(model=model_path, seed=settings.seed)
    params = SamplingParams(
        n=settings.num_return_sequences,
        temperature=settings.temperature if settings.do_sample else 0.0,
        top_p=settings.top_p if settings.do_sample else 1.0,
        max_tokens=settings.max_new_tokens,
        stop_token_ids=_stop_ids(tokenizer),
        seed=settings.seed,
    )
    requests = [{"prompt_token_ids": ids} for ids in _prompt_ids(tokenizer, prompts)]
    results = llm.generate(requests, params)
    answers = []
    for result in results:
        texts = []
        for completion in result.outputs:
            stats.new_tokens += len(completion.token_ids)
            stats.hit_max_new_tokens += completion.finish_reason == "length"
            texts.append(completion.text)
        answers.append(texts)
    return answers


def generate_samples(
    model: Any,
    tokenizer: Any,
    prompts: Sequence[str | Sequence[int]],
    settings: GenerationSettings,
    *,
    model_path: str | None = None,
    sources: Sequence[str] | None = None,
) -> tuple[list[list[str]], GenerationStats]:
    """``settings.num_return_sequences`` answers per prompt, in prompt order, and the run's stats.

    ``model_path`` (the saved model directory) is needed by the vLLM backend only. ``sources``
    (one text per prompt) are what ``settings.copy_mentions`` copies from.

    Raises:
        ValueError: ``copy_mentions`` without one source per prompt, or with the vLLM backend.
    """
    if settings.copy_mentions:
        if sources is None or len(sources) != len(prompts):
            raise ValueError("copy_mentions needs one source text per prompt")
        if settings.backend == "vllm":
            raise ValueError("copy_mentions runs on the transformers backend, not vllm")
    stats = GenerationStats(prompts=len(prompts))
    started = time.perf_counter()
    if prompts and not settings.copy_mentions and _use_vllm(settings) and model_path is not None:
        stats.backend = "vllm"
        answers = _generate_vllm(model_path, prompts, tokenizer, settings, stats)
    elif prompts:
        answers = _generate_batches(model, tokenizer, prompts, settings, stats, sources)
    else:
        answers = []
    stats.seconds = time.perf_counter() - started
    stats.answers = sum(len(texts) for texts in answers)
    if stats.hit_max_new_tokens:
        logger.warning(
            "%d of %d answers stopped at max_new_tokens=%d (possibly truncated)",
            stats.hit_max_new_tokens,
            stats.answers,
            settings.max_new_tokens,
        )
    return answers, stats


def generate(
    model: Any,
    tokenizer: Any,
    prompts: Sequence[str | Sequence[int]],
    settings: GenerationSettings | None = None,
    *,
    model_path: str | None = None,
) -> list[str]:
    """One answer per prompt, in prompt order (greedy unless ``settings.do_sample``)."""
    settings = settings or GenerationSettings()
    if settings.num_return_sequences != 1:
        raise ValueError("generate() gives one answer per prompt; use generate_samples()")
    answers, _ = generate_samples(model, tokenizer, prompts, settings, model_path=model_path)
    return [texts[0] for texts in answers]


def generate_one_by_one(
    model: Any,
    tokenizer: Any,
    prompts: Sequence[str | Sequence[int]],
    settings: GenerationSettings | None = None,
) -> list[str]:
    """The unbatched baseline: one ``model.generate`` call per prompt, no padding."""
    settings = settings or GenerationSettings()
    single = GenerationSettings(
        max_new_tokens=settings.max_new_tokens,
        batch_size=1,
        sort_by_length=False,
        backend="transformers",
    )
    return generate(model, tokenizer, prompts, single)
