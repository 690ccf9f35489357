"""The web demo in a browser: `python -m bioie_kedro.demo` over the catalog of a `kedro run --env
test`; a typed text comes back with the encoder's entities highlighted, and with a decoder's
answers and retrieved examples."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from bioie_kedro.corpora.pubtator import read_pubtator
from tests.ui.browser import PROJECT_ROOT, docs_img, save_screenshot

pytestmark = pytest.mark.slow

DEFAULT_TEXT = (
    "Naloxone reverses the antihypertensive effect of clonidine. Lithium-induced nephrogenic "
    "diabetes insipidus was observed in two patients."
)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def demo_url(trained_data_root, tmp_path_factory):
    """The demo's entry point serving the trained project on 127.0.0.1."""
    port = _free_port()
    log = tmp_path_factory.mktemp("demo") / "server.log"
    env = {**os.environ, "KEDRO_DISABLE_TELEMETRY": "1", "DO_NOT_TRACK": "true"}
    with log.open("w") as out:
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "bioie_kedro.demo",
                "--port",
                str(port),
                "--env",
                "test",
                "--params",
                f"data_root={trained_data_root}",
            ],
            cwd=PROJECT_ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                with urllib.request.urlopen(url + "api/models", timeout=5) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if server.poll() is not None or time.monotonic() > deadline:
                pytest.fail("the demo did not start:\n" + log.read_text()[-3000:])
            time.sleep(0.5)
        yield url
    finally:
        server.terminate()
        server.wait(timeout=30)


def _reference_text(trained_data_root: Path) -> tuple[str, list[tuple[int, int, str, str]]]:
    """A text on which the encoder (two training steps in conf/test) finds entities, and those
    entities, predicted here directly from the model's directory."""
    from bioie_kedro.segmentation import segment_document
    from bioie_kedro.token_classification import TokenClassifier, predict_documents

    (model_dir,) = (trained_data_root / "06_models" / "encoder_ner" / "model").glob("*/model")
    classifier = TokenClassifier.load(model_dir)
    demo = PROJECT_ROOT / "data" / "01_raw" / "demo" / "demo_test.PubTator.txt"
    titles = [
        doc.passages[0].text for doc in read_pubtator(demo, source="demo", split="test").documents
    ]
    from bioie_kedro.demo.service import input_document

    for text in [DEFAULT_TEXT, *titles]:
        (predicted,), _ = predict_documents(classifier, [segment_document(input_document(text))])
        if predicted.entities:
            spans = sorted((e.start, e.end, e.type, e.text) for e in predicted.entities)
            return text, spans
    pytest.fail("the test encoder finds no entity in any candidate text")


def _annotate(page, model: str, text: str) -> list[tuple[int, int, str, str]]:
    page.select_option("#model", model)
    page.fill("#text", text)
    page.click("#annotate")
    page.wait_for_function(
        "() => /entities/.test(document.querySelector('#status').textContent)", timeout=120_000
    )
    marks = page.eval_on_selector_all(
        "mark.entity",
        "els => els.map(e => [+e.dataset.start, +e.dataset.end, e.dataset.type, e.textContent])",
    )
    return [tuple(m) for m in marks]


def test_demo_highlights_the_models_entities(demo_url, browser, trained_data_root):
    text, expected = _reference_text(trained_data_root)
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    try:
        page.goto(demo_url)
        page.wait_for_function("() => document.querySelectorAll('#model option').length === 3")
        offered = page.eval_on_selector_all(
            "#model option", "els => els.map(e => [e.value, e.disabled])"
        )
        assert offered == [
            ["encoder_ner_model", False],
            ["decoder_model", False],
            ["dfpo_model", False],
        ]

        marks = _annotate(page, "encoder_ner_model", text)
        assert marks == expected
        assert all(text[start:end] == shown for start, end, _, shown in marks)
        assert page.locator("#examples-card").is_hidden()  # an encoder retrieves nothing
        png = page.screenshot(full_page=True)
        assert png[:4] == b"\x89PNG"
        save_screenshot(png, *docs_img("demo.png"))

        # a decoder: its raw answers, relations table and the retrieved training examples
        marks = _annotate(page, "decoder_model", text)
        assert all(text[start:end] == shown for start, end, _, shown in marks)
        assert page.locator("#examples-card").is_visible()
        scores = [float(s) for s in page.locator("#examples li .score").all_inner_texts()]
        assert len(scores) == 3 and scores == sorted(scores, reverse=True)
        assert "without retrieved examples" in page.inner_text("#examples-note")
        assert page.locator("#relations").is_visible()
        page.click("#answers-card summary")
        assert page.locator("#answers pre").count() == 2  # NER and RE instructions
        png = page.screenshot(full_page=True)
        assert png[:4] == b"\x89PNG"
        save_screenshot(png, *docs_img("demo_decoder.png"))

        # an error is shown, not swallowed
        page.evaluate("document.querySelector('#model').add(new Option('gone', 'gone'))")
        page.select_option("#model", "gone")
        page.click("#annotate")
        page.wait_for_function(
            "() => document.querySelector('#status').classList.contains('error')"
        )
        assert "unknown model 'gone'" in page.inner_text("#status")
    finally:
        page.close()
