"""Web pages (placeholder: an index of packages).

The web UI lives here (with ``server/templates/`` and ``server/static/``). The app factory calls
:func:`setup` once; everything the UI needs to mount (routers, static files, template globals) goes
in there. Database access: ``splicelab.server.deps.get_db(request)``; access control for pages:
``Depends(allow_read)``.
"""

from __future__ import annotations

import html

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import HTMLResponse
from sqlalchemy import func, select

from splicelab.server.deps import allow_read, get_db
from splicelab.store.models import Artifact, Build, Spec, User

router = APIRouter(include_in_schema=False)


@router.get("/", response_class=HTMLResponse)
def index(request: Request, _: User | None = Depends(allow_read)) -> HTMLResponse:
    with get_db(request).session() as session:
        spec_counts = dict(
            session.execute(
                select(Spec.name, func.count(Build.id))
                .join(Build, Build.spec_id == Spec.id)
                .group_by(Spec.name)
            ).all()
        )
        artifact_counts = dict(
            session.execute(select(Artifact.name, func.count()).group_by(Artifact.name)).all()
        )
    names = sorted(set(spec_counts) | set(artifact_counts))
    rows = "\n".join(
        f"<tr><td>{html.escape(n)}</td><td>{spec_counts.get(n, 0)}</td>"
        f"<td>{artifact_counts.get(n, 0)}</td></tr>"
        for n in names
    )
    page = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>splicelab monitor</title></head>
<body>
<h1>splicelab monitor</h1>
<p><a href="/docs">API documentation</a> · <a href="/openapi.json">OpenAPI schema</a></p>
<table>
<thead><tr><th>package</th><th>builds</th><th>artifacts</th></tr></thead>
<tbody>
{rows}
</tbody>
</table>
</body></html>
"""
    return HTMLResponse(page)


def setup(app: FastAPI) -> None:
    """Mount the web UI on ``app``."""
    app.include_router(router)
