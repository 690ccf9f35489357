"""The demo's web application (FastAPI): one HTML page and a small JSON API.

GET  /               the page (demo/page.html)
GET  /api/models     the offered models and whether each is trained
POST /api/annotate   {"text": ..., "model": ..., "examples": 3} → entities, relations, ...
"""

from __future__ import annotations

from importlib.resources import files
from typing import Any

from pydantic import BaseModel, Field

from bioie_kedro.demo.service import DEFAULT_EXAMPLES, DemoError, DemoService


class AnnotateRequest(BaseModel):
    """The body of ``POST /api/annotate``."""

    text: str
    model: str = Field(description="A model's catalog name, e.g. encoder_ner_model.")
    examples: int = Field(DEFAULT_EXAMPLES, ge=0, le=20, description="Retrieved examples shown.")


def create_app(service: DemoService) -> Any:
    """The FastAPI application serving ``service``."""
    from fastapi import FastAPI, HTTPException
    from fastapi.responses import HTMLResponse

    app = FastAPI(title="bioie-kedro demo", docs_url="/api/docs", redoc_url=None)
    page = files("bioie_kedro.demo").joinpath("page.html").read_text(encoding="utf-8")

    @app.get("/", response_class=HTMLResponse)
    def index() -> str:
        return page

    @app.get("/api/models")
    def models() -> list[dict[str, Any]]:
        return service.models()

    # a plain `def`: FastAPI runs it in a worker thread, so the server stays responsive
    @app.post("/api/annotate")
    def annotate(request: AnnotateRequest) -> dict[str, Any]:
        try:
            return service.annotate(request.text, request.model, examples=request.examples)
        except DemoError as exc:
            raise HTTPException(status_code=400, detail=str(exc)) from exc

    return app
