"""Annotator backends against a scripted OpenAI-compatible server on 127.0.0.1: retries after 5xx
and timeouts, the concurrency limit, the API key, the answer cache and resume after ``kill -9``;
the vLLM guard; the local decoder backend with a tiny scratch model."""

from __future__ import annotations

import json
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bioie_kedro.annotation import (
    AnnotationError,
    AnnotationPrompt,
    AnnotatorUnavailable,
    AnswerCache,
    ApiKey,
    HttpChatAnnotator,
    HttpSettings,
    VllmSettings,
    annotate_with_cache,
    build_annotator,
)
from tests.synthetic.chat_server import ChatServer, Reply, prompt_key

HELPER = Path(__file__).with_name("annotate_subprocess.py")


def prompts(count: int, schema: dict | None = None) -> list[AnnotationPrompt]:
    return [
        AnnotationPrompt(({"role": "user", "content": f"prompt {i}"},), response_schema=schema)
        for i in range(count)
    ]


def echo(body: dict, attempt: int) -> Reply:
    return Reply(content=f"answer to {prompt_key(body)}")


def http(url: str, **overrides) -> HttpSettings:
    settings = dict(
        url=url,
        model="test-model",
        timeout_s=5,
        max_retries=3,
        backoff_initial_s=0.01,
        backoff_max_s=0.05,
        max_concurrency=2,
    )
    return HttpSettings(**{**settings, **overrides})


def test_requests_carry_the_json_schema_and_answers_come_back_in_order():
    schema = {"type": "object", "properties": {"relations": {"type": "array"}}}
    with ChatServer(echo) as server:
        annotator = HttpChatAnnotator(http(server.url, max_concurrency=3))
        arrived = []
        answers = annotator.annotate(prompts(5, schema), on_answer=lambda i, a: arrived.append(i))
    assert answers == [f"answer to prompt {i}" for i in range(5)]
    assert sorted(arrived) == list(range(5))
    body = server.requests[0]
    assert body["model"] == "test-model" and body["temperature"] == 0.0
    assert body["response_format"] == {
        "type": "json_schema",
        "json_schema": {"name": "relations", "schema": schema, "strict": True},
    }


def test_server_errors_are_retried_with_exponential_backoff():
    def flaky(body, attempt):
        return Reply(status=500) if attempt <= 2 else echo(body, attempt)

    delays = []
    with ChatServer(flaky) as server:
        annotator = HttpChatAnnotator(http(server.url, max_concurrency=1), sleep=delays.append)
        assert annotator.annotate(prompts(2)) == ["answer to prompt 0", "answer to prompt 1"]
    assert dict(server.attempts) == {"prompt 0": 3, "prompt 1": 3}
    assert delays == [0.01, 0.02, 0.01, 0.02]


def test_a_timeout_is_retried():
    def slow_first(body, attempt):
        return Reply(content="late", delay=4.0) if attempt == 1 else echo(body, attempt)

    with ChatServer(slow_first) as server:
        annotator = HttpChatAnnotator(http(server.url, timeout_s=0.3))
        started = time.perf_counter()
        assert annotator.annotate(prompts(1)) == ["answer to prompt 0"]
        # the first answer would take 4 s: getting the second one well before proves the client
        # gave up on the first after its timeout (a wide margin, not a speed measurement)
        assert time.perf_counter() - started < 3.0
    assert server.attempts["prompt 0"] == 2


def test_client_errors_fail_at_once_and_exhausted_retries_fail(caplog):
    with ChatServer(lambda body, attempt: Reply(status=400)) as server:
        with pytest.raises(AnnotationError, match="HTTP 400"):
            HttpChatAnnotator(http(server.url)).annotate(prompts(1))
    assert server.attempts["prompt 0"] == 1

    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{probe.getsockname()[1]}/v1"
    with pytest.raises(AnnotationError, match="gave up after 3 attempts; last: connection error"):
        HttpChatAnnotator(http(closed, max_retries=2)).annotate(prompts(1))


def test_the_concurrency_limit_is_respected():
    def slow(body, attempt):
        return Reply(content="ok", delay=0.4)

    with ChatServer(slow) as server:
        HttpChatAnnotator(http(server.url, max_concurrency=3)).annotate(prompts(9))
    assert server.max_in_flight == 3
    assert len(server.requests) == 9


def test_the_api_key_is_sent_but_never_shown(caplog, monkeypatch):
    from bioie_kedro.datasets import ApiKeyDataset

    secret = "sk-test-0123456789"

    def fail_once(body, attempt):
        return Reply(status=503) if attempt == 1 else echo(body, attempt)

    with ChatServer(fail_once) as server:
        annotator = HttpChatAnnotator(http(server.url), api_key=ApiKey(secret))
        with caplog.at_level("DEBUG"):
            annotator.annotate(prompts(1))
    assert server.headers[0]["Authorization"] == f"Bearer {secret}"
    assert "retry 1 of 3" in caplog.text
    for shown in (caplog.text, repr(annotator), str(ApiKey(secret)), annotator.cache_model):
        assert secret not in shown

    monkeypatch.setenv("BIOIE_TEST_KEY", "from-env")
    dataset = ApiKeyDataset(env_var="BIOIE_TEST_KEY")
    assert dataset.load().reveal() == "from-env"
    with_credentials = ApiKeyDataset(env_var="BIOIE_TEST_KEY", credentials={"api_key": secret})
    assert with_credentials.load().reveal() == secret
    assert secret not in repr(with_credentials) and secret not in str(with_credentials._describe())
    monkeypatch.delenv("BIOIE_TEST_KEY")
    assert not dataset.load()


def test_answers_are_cached_and_a_failed_run_resumes(tmp_path):
    def broken_for_prompt_2(body, attempt):
        return Reply(status=500) if prompt_key(body) == "prompt 2" else echo(body, attempt)

    cache_path = tmp_path / "answers.sqlite"
    with ChatServer(broken_for_prompt_2) as server, AnswerCache(cache_path) as cache:
        annotator = HttpChatAnnotator(http(server.url, max_retries=1, max_concurrency=1))
        with pytest.raises(AnnotationError, match="prompt .*gave up after 2 attempts"):
            annotate_with_cache(prompts(4), annotator, cache, batch_size=4)
        assert cache.count() == 2  # prompts 0 and 1; prompt 3 was never sent
    assert "prompt 3" not in server.attempts

    with ChatServer(echo) as server, AnswerCache(cache_path) as cache:
        annotator = HttpChatAnnotator(http(server.url))
        answers, cached, stats = annotate_with_cache(prompts(4) + prompts(1), annotator, cache)
    assert answers == [f"answer to prompt {i}" for i in (0, 1, 2, 3, 0)]
    assert cached == [True, True, False, False, True]
    assert (stats.prompts, stats.unique_prompts, stats.from_cache, stats.asked) == (5, 4, 2, 2)
    assert set(server.attempts) == {"prompt 2", "prompt 3"}

    # another model (or other decoding settings) never reuses these answers
    other = HttpChatAnnotator(http("http://127.0.0.1:9/v1", max_tokens=7))
    assert other.cache_model != annotator.cache_model
    with AnswerCache(cache_path) as cache:
        assert cache.get_many(other.cache_model, [p.sha256 for p in prompts(4)]) == {}


def _stored_answers(path: Path) -> int:
    if not path.exists():
        return 0
    with sqlite3.connect(path) as connection:
        try:
            return connection.execute("SELECT COUNT(*) FROM answers").fetchone()[0]
        except sqlite3.OperationalError:  # the table is not created yet
            return 0


def test_a_killed_run_resumes_without_asking_any_prompt_twice(tmp_path):
    cache_path = tmp_path / "answers.sqlite"
    command = [sys.executable, str(HELPER), "", str(cache_path), "12"]
    with ChatServer(echo, hold_after=5) as server:
        command[2] = server.url
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 60
        while (
            _stored_answers(cache_path) < 5 or len(server.requests) < 6
        ) and process.poll() is None:
            assert time.monotonic() < deadline, "the annotation process made no progress"
            time.sleep(0.02)
        process.kill()  # SIGKILL: no clean-up, one request in flight
        process.communicate(timeout=30)
        assert process.returncode == -9
        assert _stored_answers(cache_path) == 5 and len(server.requests) == 6
        server.release_held()

        rerun = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)
    assert rerun.returncode == 0, rerun.stderr
    result = json.loads(rerun.stdout)
    assert result["answers"] == [f"answer to prompt {i}" for i in range(12)]
    assert (result["stats"]["from_cache"], result["stats"]["asked"]) == (5, 7)
    # every prompt answered exactly once over both runs; only the dropped one was sent twice
    assert set(server.answered) == {f"prompt {i}" for i in range(12)}
    assert set(server.answered.values()) == {1}
    assert sum(server.attempts.values()) == 13


def test_the_vllm_backend_says_what_it_needs():
    pytest.importorskip("torch")
    try:
        import vllm  # noqa: F401
    except ImportError:
        with pytest.raises(AnnotatorUnavailable, match="needs the vllm package"):
            build_annotator("vllm", vllm=VllmSettings(model="some/model"))
    else:  # pragma: no cover - GPU machines with vllm
        import torch

        if not torch.cuda.is_available():
            with pytest.raises(AnnotatorUnavailable, match="needs a CUDA GPU"):
                build_annotator("vllm", vllm=VllmSettings(model="some/model"))
    with pytest.raises(AnnotatorUnavailable, match="needs a model"):
        build_annotator("vllm", vllm=VllmSettings())
    with pytest.raises(AnnotatorUnavailable, match="needs a url and a model"):
        build_annotator("http", http=HttpSettings(url="", model=""))
    with pytest.raises(ValueError, match="unknown annotator backend"):
        build_annotator("openai")


def test_the_decoder_backend_answers_through_the_project_generation(tmp_path):
    from bioie_kedro.annotation import relation_prompt
    from bioie_kedro.decoders.build import BaseModelSettings, LlamaShape, build_base_model
    from bioie_kedro.relation_extraction import RelationSpec, sentence_units
    from bioie_kedro.schema import Document, Entity
    from bioie_kedro.segmentation import segment_document

    text = "Cisplatin caused nephrotoxicity."
    doc = segment_document(
        Document(
            "d1",
            "toy",
            "train",
            text,
            entities=[
                Entity("T1", "Chemical", "Cisplatin", [(0, 9)]),
                Entity("T2", "Disease", "nephrotoxicity", [(17, 31)]),
            ],
        )
    )
    (unit,), _ = sentence_units(doc)
    prompt = relation_prompt(unit, RelationSpec.from_mapping({"Chemical|Disease": ["causes"]}))
    shape = LlamaShape(
        hidden_size=16,
        intermediate_size=32,
        num_hidden_layers=1,
        num_attention_heads=2,
        num_key_value_heads=1,
        vocab_size=300,
    )
    decoder = build_base_model(
        BaseModelSettings(shape=shape), tokenizer_texts=[text, prompt.messages[-1]["content"]]
    )
    annotator = build_annotator(
        "transformers", decoder=decoder, generation={"max_new_tokens": 4, "batch_size": 2}
    )
    arrived = []
    answers = annotator.annotate([prompt, prompt], on_answer=lambda i, a: arrived.append(i))
    assert len(answers) == 2 and all(isinstance(a, str) for a in answers)
    assert answers[0] == answers[1] and arrived == [0, 1]  # greedy
    assert annotator.cache_model.startswith("decoder:")
    # other weights, another cache identity
    again = build_base_model(
        BaseModelSettings(shape=shape, seed=7),
        tokenizer_texts=[text, prompt.messages[-1]["content"]],
    )
    assert build_annotator("transformers", decoder=again).cache_model != annotator.cache_model
    with pytest.raises(AnnotatorUnavailable, match="needs a decoder checkpoint"):
        build_annotator("transformers", decoder="unused")

    # or any causal LM by path, e.g. a saved checkpoint
    decoder.save(tmp_path / "lm")
    from_path = build_annotator(
        "transformers",
        decoder_name_or_path=str(tmp_path / "lm"),
        generation={"max_new_tokens": 4, "batch_size": 2},
    )
    assert from_path.cache_model.startswith(f"{tmp_path / 'lm'}|")
    assert from_path.annotate([prompt]) == answers[:1]
