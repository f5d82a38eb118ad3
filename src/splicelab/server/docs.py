"""``/docs``: the API reference as one self-contained HTML page, rendered from the OpenAPI schema.

FastAPI's Swagger UI loads its JavaScript from a CDN, which a machine without internet cannot reach;
this page needs nothing but the server. The machine-readable schema is at ``/openapi.json``.
"""

from __future__ import annotations

import html
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

router = APIRouter(include_in_schema=False)

_STYLE = """
body{font-family:sans-serif;max-width:60em;margin:2em auto;padding:0 1em;color:#222}
code{background:#f3f3f3;padding:0 .2em}
.op{border-left:4px solid #888;margin:1em 0;padding:.2em 1em}
.get{border-color:#2a7}.post{border-color:#27a}
.method{font-weight:bold;text-transform:uppercase;display:inline-block;min-width:4em}
td,th{text-align:left;padding:0 1em 0 0;vertical-align:top}
"""


def _params(op: dict[str, Any]) -> str:
    rows = []
    for p in op.get("parameters", []):
        schema = p.get("schema", {})
        kind = schema.get("type") or ", ".join(s.get("type", "?") for s in schema.get("anyOf", []))
        rows.append(
            f"<tr><td><code>{html.escape(p['name'])}</code></td><td>{html.escape(p.get('in', ''))}</td>"
            f"<td>{html.escape(str(kind))}</td><td>{html.escape(p.get('description', '') or '')}</td></tr>"
        )
    if not rows:
        return ""
    return "<table><tr><th>parameter</th><th>in</th><th>type</th><th></th></tr>" + "".join(rows) + "</table>"


def render(schema: dict[str, Any]) -> str:
    info = schema.get("info", {})
    parts = [
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>{html.escape(info.get('title', 'API'))}</title><style>{_STYLE}</style></head><body>",
        f"<h1>{html.escape(info.get('title', 'API'))} <small>{html.escape(info.get('version', ''))}</small>",
        "</h1>",
        "<p>Machine-readable schema: <a href='/openapi.json'>/openapi.json</a>.</p>",
    ]
    for path, item in schema.get("paths", {}).items():
        for method, op in item.items():
            body = op.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema")
            body_html = ""
            if body:
                ref = body.get("$ref") or next(
                    (s.get("$ref") or s.get("items", {}).get("$ref") for s in body.get("oneOf", [])), None
                )
                if ref:
                    body_html = f"<p>Body: <code>{html.escape(ref.rsplit('/', 1)[-1])}</code></p>"
            parts.append(
                f"<div class='op {html.escape(method)}'><p><span class='method'>{html.escape(method)}</span>"
                f"<code>{html.escape(path)}</code> {html.escape(op.get('summary', ''))}</p>"
                f"{_params(op)}{body_html}</div>"
            )
    parts.append("</body></html>")
    return "".join(parts)


@router.get("/docs", response_class=HTMLResponse)
def docs(request: Request) -> HTMLResponse:
    return HTMLResponse(render(request.app.openapi()))
