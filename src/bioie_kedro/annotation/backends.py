"""Annotator backends behind one interface: ``annotate(prompts) -> list[str]``.

* :class:`HttpChatAnnotator`: any OpenAI-compatible chat-completions server (vLLM's
  ``vllm serve``, TGI, llama.cpp, a hosted API) at a configured URL. JSON-schema-constrained
  output (``response_format={"type": "json_schema", ...}``), a concurrency limit, a timeout per
  request, and retries with exponential backoff after 5xx and 429 answers, timeouts and
  connection errors (other 4xx answers fail at once). The API key is sent as a bearer token and
  never logged (:class:`ApiKey` hides it in every ``repr``).
* :class:`VllmAnnotator`: vLLM's offline engine in this process; needs ``vllm`` and a CUDA GPU
  and says so clearly otherwise (:class:`AnnotatorUnavailable`).
* :class:`DecoderAnnotator`: a local transformers causal LM, by default the project's own decoder
  checkpoint (catalog ``decoder_model``), through
  ``bioie_kedro.decoders.generation.generate`` with prompts rendered by
  ``bioie_kedro.decoders.chat.render_prompt``. Its output is not constrained; the strict parser
  and the validation catch what does not conform.

Every backend calls ``on_answer(index, answer)`` as soon as an answer arrives (the runner stores
it at once, see :mod:`bioie_kedro.annotation.runner`) and reports its :attr:`cache_model`: the model
identity plus the decoding settings, the model half of the cache key.

httpx, torch, transformers and vllm are imported where they are used.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol, runtime_checkable

from bioie_kedro.annotation.prompts import AnnotationPrompt

logger = logging.getLogger(__name__)

OnAnswer = Callable[[int, str], None]

#: Environment variable read for the API key when no credentials are configured.
DEFAULT_API_KEY_ENV = "BIOIE_ANNOTATOR_API_KEY"


class AnnotationError(RuntimeError):
    """Prompts could not be answered (after retries, or an answer the protocol does not allow)."""


class AnnotatorUnavailable(RuntimeError):
    """A backend cannot run here (a missing package, no GPU, no model); the message says why."""


class ApiKey:
    """An API key that never shows in logs, reprs or tracebacks; :meth:`reveal` gives the value."""

    __slots__ = ("_value",)

    def __init__(self, value: str | None) -> None:
        self._value = value or None

    @classmethod
    def from_sources(
        cls, credentials: Mapping[str, Any] | None = None, env_var: str = DEFAULT_API_KEY_ENV
    ) -> ApiKey:
        """``credentials["api_key"]`` (``conf/local/credentials.yml``), else ``$env_var``."""
        if credentials and credentials.get("api_key"):
            return cls(str(credentials["api_key"]))
        return cls(os.environ.get(env_var))

    def reveal(self) -> str | None:
        return self._value

    def __bool__(self) -> bool:
        return self._value is not None

    def __repr__(self) -> str:
        return f"ApiKey({'set' if self._value else 'not set'})"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ApiKey) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)

    def __getstate__(self) -> str | None:
        return self._value

    def __setstate__(self, state: str | None) -> None:
        self._value = state


@runtime_checkable
class Annotator(Protocol):
    """What the annotation runner needs from a backend."""

    @property
    def cache_model(self) -> str:
        """Model identity and answer-changing decoding settings (the model half of a cache key)."""
        ...

    def annotate(
        self, prompts: Sequence[AnnotationPrompt], *, on_answer: OnAnswer | None = None
    ) -> list[str]:
        """One answer per prompt, in order."""
        ...


def _settings_key(settings: Mapping[str, Any]) -> str:
    return json.dumps(settings, sort_keys=True, separators=(",", ":"), default=str)


# --------------------------------------------------------------------------------------------
# (a) OpenAI-compatible HTTP server
# --------------------------------------------------------------------------------------------


@dataclass
class HttpSettings:
    """Settings of :class:`HttpChatAnnotator`; request fields keep the OpenAI API names."""

    #: base URL (``http://host:8000/v1``) or the full ``.../chat/completions`` endpoint
    url: str
    #: the ``model`` field of each request (the name the server serves)
    model: str
    timeout_s: float = 120.0
    #: retries after a 5xx/429 answer, a timeout or a connection error (0: a single attempt)
    max_retries: int = 5
    backoff_initial_s: float = 1.0
    backoff_max_s: float = 60.0
    #: requests in flight at once
    max_concurrency: int = 8
    max_tokens: int = 512
    temperature: float = 0.0
    #: send ``response_format`` with the prompt's JSON schema (off for servers without it)
    json_schema: bool = True
    #: more request fields, e.g. ``{"seed": 0}`` or vLLM's ``{"top_k": 1}``
    extra_body: dict[str, Any] = field(default_factory=dict)

    @property
    def endpoint(self) -> str:
        url = self.url.rstrip("/")
        return url if url.endswith("/chat/completions") else f"{url}/chat/completions"


class _Retryable(Exception):
    """A failed attempt worth repeating."""


class HttpChatAnnotator:
    """Chat completions over HTTP with a concurrency limit, timeouts and retries."""

    def __init__(
        self,
        settings: HttpSettings,
        *,
        api_key: ApiKey | None = None,
        model_id: str | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if settings.max_concurrency < 1:
            raise ValueError("max_concurrency must be at least 1")
        self.settings = settings
        self._api_key = api_key or ApiKey(None)
        self._model_id = model_id or f"http:{settings.model}"
        self._sleep = sleep

    def __repr__(self) -> str:
        return (
            f"HttpChatAnnotator(endpoint={self.settings.endpoint!r}, model={self.settings.model!r}, "
            f"api_key={self._api_key!r})"
        )

    @property
    def cache_model(self) -> str:
        s = self.settings
        decoding = {
            "max_tokens": s.max_tokens,
            "temperature": s.temperature,
            "json_schema": s.json_schema,
            **s.extra_body,
        }
        return f"{self._model_id}|{_settings_key(decoding)}"

    def _body(self, prompt: AnnotationPrompt) -> dict[str, Any]:
        s = self.settings
        body: dict[str, Any] = {
            "model": s.model,
            "messages": [dict(m) for m in prompt.messages],
            "temperature": s.temperature,
            "max_tokens": s.max_tokens,
            **s.extra_body,
        }
        if s.json_schema and prompt.response_schema is not None:
            body["response_format"] = {
                "type": "json_schema",
                "json_schema": {
                    "name": prompt.schema_name,
                    "schema": prompt.response_schema,
                    "strict": True,
                },
            }
        return body

    def _backoff(self, attempt: int, retry_after: str | None) -> float:
        delay = min(self.settings.backoff_max_s, self.settings.backoff_initial_s * 2**attempt)
        if retry_after is not None:
            try:
                delay = min(self.settings.backoff_max_s, max(delay, float(retry_after)))
            except ValueError:
                pass  # an HTTP date: keep the exponential delay
        return delay

    def _attempt(self, client: Any, body: dict[str, Any]) -> str:
        import httpx

        endpoint = self.settings.endpoint
        try:
            response = client.post(endpoint, json=body)
        except httpx.TimeoutException as exc:
            raise _Retryable(f"timeout after {self.settings.timeout_s} s ({type(exc).__name__})")
        except httpx.TransportError as exc:
            raise _Retryable(f"connection error ({type(exc).__name__}: {exc})")
        status = response.status_code
        if status >= 500 or status == 429:
            error = _Retryable(f"HTTP {status}")
            error.retry_after = response.headers.get("retry-after")  # type: ignore[attr-defined]
            raise error
        if status != 200:
            raise AnnotationError(f"HTTP {status} from {endpoint}: {response.text[:300]}")
        try:
            message = response.json()["choices"][0]["message"]
        except (ValueError, KeyError, IndexError, TypeError) as exc:
            raise _Retryable(f"not a chat-completions response ({type(exc).__name__})")
        content = message.get("content") if isinstance(message, dict) else None
        # A refusal or an empty message is the model's answer; the parser counts it as invalid.
        return content if isinstance(content, str) else ""

    def _ask(self, client: Any, prompt: AnnotationPrompt, stop: threading.Event) -> str | None:
        """The answer to one prompt; ``None`` when another prompt failed for good first."""
        body = self._body(prompt)
        attempts = self.settings.max_retries + 1
        for attempt in range(attempts):
            if stop.is_set():
                return None
            try:
                return self._attempt(client, body)
            except AnnotationError:
                stop.set()
                raise
            except _Retryable as exc:
                if attempt + 1 == attempts:
                    stop.set()
                    raise AnnotationError(
                        f"prompt {prompt.sha256[:12]}: gave up after {attempts} attempts; last: {exc}"
                    ) from None
                delay = self._backoff(attempt, getattr(exc, "retry_after", None))
                logger.warning(
                    "Annotation request failed (%s); retry %d of %d in %.1f s",
                    exc,
                    attempt + 1,
                    self.settings.max_retries,
                    delay,
                )
                self._sleep(delay)
        raise AssertionError("unreachable")  # pragma: no cover

    def annotate(
        self, prompts: Sequence[AnnotationPrompt], *, on_answer: OnAnswer | None = None
    ) -> list[str]:
        """Answers in prompt order; ``on_answer`` runs in the calling thread as each arrives.

        Raises:
            AnnotationError: after the first prompt that fails for good; prompts not yet sent are
                not sent, and answers that arrived were handed to ``on_answer`` first.
        """
        import httpx

        if not prompts:
            return []
        s = self.settings
        headers = {"Content-Type": "application/json"}
        if self._api_key:
            headers["Authorization"] = f"Bearer {self._api_key.reveal()}"
        answers: list[str | None] = [None] * len(prompts)
        stop = threading.Event()  # set by the first prompt that fails for good
        limits = httpx.Limits(
            max_connections=s.max_concurrency, max_keepalive_connections=s.max_concurrency
        )
        failure: BaseException | None = None
        with (
            httpx.Client(
                timeout=httpx.Timeout(s.timeout_s), limits=limits, headers=headers
            ) as client,
            ThreadPoolExecutor(
                max_workers=s.max_concurrency, thread_name_prefix="annotate"
            ) as pool,
        ):
            pending: dict[Future, int] = {
                pool.submit(self._ask, client, prompt, stop): index
                for index, prompt in enumerate(prompts)
            }
            try:
                while pending:
                    done, _ = wait(pending, return_when=FIRST_COMPLETED)
                    for future in done:
                        index = pending.pop(future)
                        error = future.exception()
                        if error is not None:
                            failure = failure or error
                            continue
                        answer = future.result()
                        if answer is None:
                            continue
                        answers[index] = answer
                        if on_answer is not None:
                            on_answer(index, answer)
            except BaseException:  # storing failed, or an interrupt: send nothing more
                stop.set()
                raise
        if failure is not None:
            unanswered = sum(answer is None for answer in answers)
            raise AnnotationError(
                f"{unanswered} of {len(prompts)} prompts unanswered: {failure}"
            ) from failure
        return [answer for answer in answers if answer is not None]


# --------------------------------------------------------------------------------------------
# (b) vLLM offline engine
# --------------------------------------------------------------------------------------------


class VllmAnnotator:
    """vLLM's offline ``LLM`` engine, with JSON-schema-guided decoding per prompt."""

    def __init__(
        self,
        model: str,
        *,
        max_tokens: int = 512,
        temperature: float = 0.0,
        seed: int = 0,
        engine_args: Mapping[str, Any] | None = None,
        model_id: str | None = None,
    ) -> None:
        try:
            import vllm
        except ImportError as exc:
            raise AnnotatorUnavailable(
                "the 'vllm' annotator backend needs the vllm package (pip install vllm, on a "
                "machine with a CUDA GPU); use backend 'http' against a vLLM server, or "
                "'transformers', instead"
            ) from exc
        import torch

        if not torch.cuda.is_available():
            raise AnnotatorUnavailable(
                "the 'vllm' annotator backend needs a CUDA GPU and none is visible; use backend "
                "'http' (a vLLM server elsewhere) or 'transformers'"
            )
        self._vllm = vllm
        self._decoding = {"max_tokens": max_tokens, "temperature": temperature, "seed": seed}
        self._model_id = model_id or f"vllm:{model}"
        self._llm = vllm.LLM(model=model, seed=seed, **dict(engine_args or {}))

    @property
    def cache_model(self) -> str:
        return f"{self._model_id}|{_settings_key(self._decoding)}"

    def _sampling_params(self, prompt: AnnotationPrompt) -> Any:
        SamplingParams = self._vllm.SamplingParams  # noqa: N806
        if prompt.response_schema is None:
            return SamplingParams(**self._decoding)
        schema = dict(prompt.response_schema)
        try:  # vLLM >= 0.10.2
            from vllm.sampling_params import StructuredOutputsParams

            return SamplingParams(
                **self._decoding, structured_outputs=StructuredOutputsParams(json=schema)
            )
        except ImportError:  # older vLLM
            from vllm.sampling_params import GuidedDecodingParams

            return SamplingParams(
                **self._decoding, guided_decoding=GuidedDecodingParams(json=schema)
            )

    def annotate(
        self, prompts: Sequence[AnnotationPrompt], *, on_answer: OnAnswer | None = None
    ) -> list[str]:
        if not prompts:
            return []
        outputs = self._llm.chat(
            [[dict(m) for m in prompt.messages] for prompt in prompts],
            sampling_params=[self._sampling_params(prompt) for prompt in prompts],
            use_tqdm=False,
        )
        answers = [output.outputs[0].text for output in outputs]
        if on_answer is not None:
            for index, answer in enumerate(answers):
                on_answer(index, answer)
        return answers


# --------------------------------------------------------------------------------------------
# (c) local transformers decoder
# --------------------------------------------------------------------------------------------


def model_fingerprint(model: Any, *, sample: int = 2048) -> str:
    """A short hash of a model's config and weights (the first and last ``sample`` values of every
    tensor): a retrained checkpoint gets a new cache identity without hashing gigabytes."""
    digest = hashlib.sha256()
    config = getattr(model, "config", None)
    if config is not None and hasattr(config, "to_json_string"):
        digest.update(config.to_json_string(use_diff=False).encode())
    for name, tensor in model.state_dict().items():
        flat = tensor.detach().reshape(-1)
        digest.update(f"{name}:{tuple(tensor.shape)}:{tensor.dtype}".encode())
        for part in (flat[:sample], flat[-sample:]):
            digest.update(part.float().cpu().numpy().tobytes())
    return digest.hexdigest()[:16]


def decoder_parts(decoder: Any) -> tuple[Any, Any]:
    """``(model, tokenizer)`` from a loaded decoder checkpoint: an object with ``model`` and
    ``tokenizer`` attributes, or a ``(model, tokenizer)`` pair."""
    if hasattr(decoder, "model") and hasattr(decoder, "tokenizer"):
        return decoder.model, decoder.tokenizer
    if isinstance(decoder, tuple | list) and len(decoder) == 2:
        return decoder[0], decoder[1]
    raise AnnotatorUnavailable(
        f"the 'transformers' annotator backend needs a decoder checkpoint (an object with .model "
        f"and .tokenizer, e.g. the catalog's decoder_model); got {type(decoder).__name__}"
    )


class DecoderAnnotator:
    """A local causal LM through ``bioie_kedro.decoders.generation.generate``."""

    def __init__(
        self,
        model: Any,
        tokenizer: Any,
        *,
        generation: Mapping[str, Any] | None = None,
        model_id: str | None = None,
        model_path: str | None = None,
    ) -> None:
        self.model = model
        self.tokenizer = tokenizer
        self.generation = dict(generation or {})
        #: the saved model directory, for the vLLM backend of ``generate`` (``generation.backend``)
        self.model_path = model_path
        self._model_id = model_id or f"decoder:{model_fingerprint(model)}"

    @classmethod
    def from_pretrained(
        cls,
        name_or_path: str,
        *,
        generation: Mapping[str, Any] | None = None,
        model_id: str | None = None,
    ) -> DecoderAnnotator:
        """Any causal LM by hub name or path instead of the catalog's decoder, loaded as
        ``decoder_sft`` loads a base model (a chat template added when it has none)."""
        from bioie_kedro.decoders.build import BaseModelSettings, load_pretrained

        decoder = load_pretrained(BaseModelSettings(model_name_or_path=name_or_path))
        return cls(
            decoder.model,
            decoder.tokenizer,
            generation=generation,
            model_id=model_id or name_or_path,
            model_path=name_or_path,
        )

    @property
    def cache_model(self) -> str:
        return f"{self._model_id}|{_settings_key(self.generation)}"

    def annotate(
        self, prompts: Sequence[AnnotationPrompt], *, on_answer: OnAnswer | None = None
    ) -> list[str]:
        from bioie_kedro.decoders.chat import render_prompt
        from bioie_kedro.decoders.generation import GenerationSettings, generate

        if not prompts:
            return []
        texts = [render_prompt(self.tokenizer, [dict(m) for m in p.messages]) for p in prompts]
        settings = GenerationSettings(**self.generation)
        answers = list(
            generate(self.model, self.tokenizer, texts, settings, model_path=self.model_path)
        )
        if len(answers) != len(prompts):
            raise AnnotationError(f"generate returned {len(answers)} answers for {len(prompts)}")
        if on_answer is not None:
            for index, answer in enumerate(answers):
                on_answer(index, answer)
        return answers


# --------------------------------------------------------------------------------------------
# Factory
# --------------------------------------------------------------------------------------------


@dataclass
class VllmSettings:
    """Settings of :class:`VllmAnnotator`."""

    model: str = ""
    max_tokens: int = 512
    temperature: float = 0.0
    seed: int = 0
    #: keyword arguments of ``vllm.LLM`` (``tensor_parallel_size``, ``quantization``, ...)
    engine_args: dict[str, Any] = field(default_factory=dict)


def build_annotator(
    backend: str,
    *,
    http: HttpSettings | None = None,
    vllm: VllmSettings | None = None,
    generation: Mapping[str, Any] | None = None,
    decoder: Any = None,
    decoder_name_or_path: str | None = None,
    api_key: ApiKey | None = None,
    model_id: str | None = None,
) -> Annotator:
    """The annotator of ``backend`` (``http``, ``vllm`` or ``transformers``).

    For ``transformers`` the model is ``decoder`` (a loaded checkpoint, see :func:`decoder_parts`)
    unless ``decoder_name_or_path`` names another causal LM.

    Raises:
        AnnotatorUnavailable: the backend cannot run here, or its settings are missing.
        ValueError: an unknown backend name.
    """
    if backend == "http":
        if http is None or not http.url or not http.model:
            raise AnnotatorUnavailable("the 'http' annotator backend needs a url and a model")
        return HttpChatAnnotator(http, api_key=api_key, model_id=model_id)
    if backend == "vllm":
        if vllm is None or not vllm.model:
            raise AnnotatorUnavailable("the 'vllm' annotator backend needs a model")
        return VllmAnnotator(model_id=model_id, **asdict(vllm))
    if backend == "transformers":
        if decoder_name_or_path:
            return DecoderAnnotator.from_pretrained(
                decoder_name_or_path, generation=generation, model_id=model_id
            )
        model, tokenizer = decoder_parts(decoder)
        source = getattr(decoder, "source", None)
        return DecoderAnnotator(
            model,
            tokenizer,
            generation=generation,
            model_id=model_id,
            model_path=str(source) if source else None,
        )
    raise ValueError(f"unknown annotator backend {backend!r}; use 'http', 'vllm' or 'transformers'")
