"""The web UI: server-rendered pages (Jinja2, autoescaped) over the monitor's database.

| page | what it shows |
|---|---|
| ``/`` | every package, with its builds, binaries, predictions and outcomes |
| ``/packages/<name>`` | the build matrix (versions x compilers, per OS or all) and the builds |
| ``/packages/<name>/heatmap`` | the interactive splice heatmap (``?role=binary`` or ``dependency``) |
| ``/packages/<name>/splice`` | one splice: binary A, file, dependency D, replacement D' → verdicts, outcome |
| ``/scoreboard`` | predictors against real outcomes (``splicelab.evaluate``), ``?package=`` |
| ``/builds/<id>`` | one build: status, spec, environment, phases with their output |

The heatmap is the static report's (``splicelab.report.html``): the same payload, partials and script,
served from ``/assets/report/``; clicking a cell opens its splice page. The app factory calls
:func:`setup` once. Every page is guarded by ``allow_read`` like the API's reads.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import HTMLResponse, Response
from fastapi.staticfiles import StaticFiles
from jinja2 import ChoiceLoader, Environment, PackageLoader

from splicelab.report import html as report_html
from splicelab.server import splice_views, views
from splicelab.server.deps import allow_read, get_db
from splicelab.server.page_cache import PageCache
from splicelab.store.models import User

router = APIRouter(include_in_schema=False)

REPORT_ASSETS = {"report.css": "text/css; charset=utf-8", "heatmap.js": "text/javascript; charset=utf-8"}
STATIC = Path(str(resources.files("splicelab.server").joinpath("static")))


# --- links ------------------------------------------------------------------------------------------------


def _query(params: dict[str, Any]) -> str:
    clean = {k: v for k, v in params.items() if v not in (None, "")}
    return "?" + urlencode(clean) if clean else ""


def package_url(name: str, page: str = "", **params: Any) -> str:
    return f"/packages/{quote(name, safe='')}" + (f"/{page}" if page else "") + _query(params)


def splice_url(entry: dict[str, Any]) -> str:
    return package_url(str(entry["binary"]["package"]), "splice", **splice_views.splice_params(entry))


def build_url(build_id: int) -> str:
    return f"/builds/{build_id}"


def page_url(path: str, **params: Any) -> str:
    return path + _query(params)


# --- templates --------------------------------------------------------------------------------------------


@cache
def templates() -> Environment:
    """The report's Jinja2 environment (autoescape, its partials and filters) with the web's templates."""
    base = report_html.environment()
    assert base.loader is not None
    env = base.overlay(loader=ChoiceLoader([PackageLoader("splicelab.server", "templates"), base.loader]))
    env.globals = {
        **base.globals,
        "package_url": package_url,
        "splice_url": splice_url,
        "build_url": build_url,
        "page_url": page_url,
        "short": lambda ident: str(ident).rsplit("/", 1)[-1][:7] if ident else "",
    }
    return env


def page_text(template: str, **context: Any) -> str:
    return templates().get_template(template).render(**context)


def render(template: str, status: int = 200, **context: Any) -> HTMLResponse:
    return HTMLResponse(page_text(template, **context), status_code=status)


def not_found(message: str, **context: Any) -> HTMLResponse:
    return render("error.html", 404, title="Not found", message=message, **context)


# --- pages ------------------------------------------------------------------------------------------------


@router.get("/", response_class=HTMLResponse)
def index(request: Request, _: User | None = Depends(allow_read)) -> HTMLResponse:
    with get_db(request).session() as session:
        rows = views.packages(session)
    return render("index.html", packages=rows, nav="packages")


def cached(request: Request, key: tuple[Any, ...], render: Callable[[], str]) -> HTMLResponse:
    """A page built from predictions and outcomes, rendered again only when they changed."""
    db = get_db(request)
    with db.session() as session:
        stamp = splice_views.data_stamp(session)
    pages: PageCache = request.app.state.web_pages
    return HTMLResponse(pages.get_or_render((str(db.url), stamp, *key), render))


@router.get("/packages/{name:path}/heatmap", response_class=HTMLResponse)
def package_heatmap(
    name: str, request: Request, role: str | None = None, _: User | None = Depends(allow_read)
) -> HTMLResponse:
    db = get_db(request)
    with db.session() as session:
        if not views.package_exists(session, name):
            return not_found(f"No package named {name!r} is known here.")
        role = role if role in splice_views.ROLES else splice_views.default_role(session, name)
    chosen = role

    def render() -> str:
        with db.session() as session:
            counts = {r: splice_views.count_splices(session, name, r) for r in splice_views.ROLES}
            data = None
            if 0 < counts[chosen] <= splice_views.MAX_GRID_SPLICES:
                grid = splice_views.package_grid(session, name, chosen)
                what = "splices of its binaries" if chosen == "binary" else f"splices of {name}"
                data = report_html.build_payload(grid, title=f"{name}: {what}")
        return page_text(
            "package_heatmap.html",
            name=name,
            role=chosen,
            counts=counts,
            too_many=counts[chosen] > splice_views.MAX_GRID_SPLICES,
            limit=splice_views.MAX_GRID_SPLICES,
            payload=report_html.payload_script(data) if data else None,
            tab="heatmap",
        )

    return cached(request, ("heatmap", name, role), render)


@router.get("/packages/{name:path}/splice", response_class=HTMLResponse)
def splice_page(
    name: str,
    request: Request,
    binary: str | None = None,
    file: str | None = None,
    dependency: str | None = None,
    replacement: str | None = None,
    _: User | None = Depends(allow_read),
) -> HTMLResponse:
    with get_db(request).session() as session:
        if not views.package_exists(session, name):
            return not_found(f"No package named {name!r} is known here.")
        choices = splice_views.splice_choices(session, name, binary, file, dependency, replacement)
        detail = splice_views.splice_detail(session, choices)
    return render("splice.html", name=name, c=choices, d=detail, dependency=dependency, tab="splice")


@router.get("/packages/{name:path}", response_class=HTMLResponse)
def package_page(
    name: str,
    request: Request,
    os: str | None = None,
    version: str | None = None,
    compiler: str | None = None,
    _: User | None = Depends(allow_read),
) -> HTMLResponse:
    with get_db(request).session() as session:
        if not views.package_exists(session, name):
            return not_found(f"No package named {name!r} is known here.")
        summary = views.package_row(session, name)
        matrix = views.build_matrix(session, name, os or None)
        builds, total = views.builds_of(session, name, os or None, version or None, compiler or None)
    return render(
        "package.html",
        name=name,
        s=summary,
        m=matrix,
        builds=builds,
        total=total,
        shown=views.BUILDS_SHOWN,
        filters={"os": os, "version": version, "compiler": compiler},
        tab="builds",
    )


@router.get("/scoreboard", response_class=HTMLResponse)
def scoreboard_page(
    request: Request, package: str | None = None, _: User | None = Depends(allow_read)
) -> HTMLResponse:
    def render() -> str:
        with get_db(request).session() as session:
            board = splice_views.scoreboard(session, package or None)
        return page_text("scoreboard.html", b=board, package=package or None, nav="scoreboard")

    return cached(request, ("scoreboard", package or None), render)


@router.get("/builds/{build_id}", response_class=HTMLResponse)
def build_page(build_id: str, request: Request, _: User | None = Depends(allow_read)) -> HTMLResponse:
    if not build_id.isdigit() or len(build_id) > 18:
        return not_found(f"{build_id!r} is not a build number.")
    with get_db(request).session() as session:
        detail = views.build_detail(session, int(build_id))
        if detail is None:
            return not_found(f"There is no build {build_id}.")
        page = render("build.html", d=detail, b=detail.build, spec=detail.spec)
    return page


@router.get("/assets/report/{name}")
def report_asset(name: str) -> Response:
    """The static report's stylesheet and heatmap script, shared with these pages."""
    if name not in REPORT_ASSETS:
        return Response("not found", status_code=404, media_type="text/plain")
    return Response(
        str(report_html.asset(name)),
        media_type=REPORT_ASSETS[name],
        headers={"Cache-Control": "public, max-age=3600"},
    )


def setup(app: FastAPI) -> None:
    """Mount the web UI on ``app``: the pages, ``/static`` (the web's own CSS and JS)."""
    app.state.web_pages = PageCache()
    app.include_router(router)
    app.mount("/static", StaticFiles(directory=STATIC), name="web-static")
