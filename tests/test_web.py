"""The web UI of ``splicelab serve`` in Debian's Chromium (Playwright), against a real server process
filled with real data: the Spack fixture's predictions and validated outcomes (``splicelab predict``,
``splicelab validate``, ``splicelab upload``) and its installs as builds over the spack monitor
protocol (see test_web_harness.py). Screenshots are kept under test-artifacts/.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

import httpx
import pytest

from splicelab.evaluate import evaluate
from test_server_harness import Server, add_user, database, splicelab
from test_web_harness import (
    TREES,
    Browser,
    Site,
    chromium,
    fill_from_fixture,
    post,
    require_fixture,
    synthetic_entries,
)

XSS = "<img src=x onerror=alert(1)>"
SLASHED = "x/</script><script>alert(2)</script>"
BIG = "bigpkg"


def label(ref: dict[str, Any], file: bool = False) -> str:
    """The heatmap's row (with the file) or column label of an artifact reference."""
    text = f"{ref['package']}@{ref['version']}/{ref['hash'][:7]}"
    return f"{text}:{ref['file']}" if file else text


def hostile_entries() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    binary = {
        "package": XSS,
        "version": "1<b>",
        "hash": "h" * 32,
        "file": "bin/</script><script>alert(2)</script>",
    }
    original = {"package": "<iframe src=javascript:alert(4)>", "version": "1", "hash": "o" * 32}
    replacement = {"package": "<iframe src=javascript:alert(4)>", "version": "2", "hash": "r" * 32}
    reason = {
        "kind": "missing-symbol",
        "symbol": "<svg onload=alert(3)>",
        "version": "V&1",
        "library": "lib\"x'.so",
        "detail": "\u2028</script>",
    }
    splice = {"binary": binary, "dependency": replacement["package"], "original": original}
    entries = [
        {
            **splice,
            "replacement": replacement,
            "predictors": {
                "<b>bold</b>": {"verdict": "breaks", "reasons": [reason]},
                "loader": {"verdict": "works", "reasons": []},
            },
        },
        {
            "binary": {**binary, "package": SLASHED},
            "dependency": replacement["package"],
            "original": original,
            "replacement": replacement,
            "predictors": {"loader": {"verdict": "works", "reasons": []}},
        },
    ]
    outcomes = [
        {
            **splice,
            "replacement": replacement,
            "mode": "spack",
            "method": "preload",
            "class": "undefined-symbol",
            "message": "<script>alert(5)</script> undefined symbol: <svg onload=alert(3)>",
        }
    ]
    return entries, outcomes


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    require_fixture()
    work = tmp_path_factory.mktemp("web")
    with database("sqlite", work) as url:
        token = add_user(url, "tester")
        with Server(url, work) as server:
            s = Site(server, token, work)
            fill_from_fixture(s)
            bad, bad_outcomes = hostile_entries()
            assert post(s, "predictions", bad) == 3 and post(s, "outcomes", bad_outcomes) == 1
            big, big_outcomes = synthetic_entries(100, 100, BIG)
            assert post(s, "predictions", big) == 20_000
            assert post(s, "outcomes", big_outcomes) == len(big_outcomes)
            s.extra.update(big=big, big_outcomes=big_outcomes, bad=bad)
            yield s


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium() as b:
        yield b


@pytest.fixture
def page(browser: Any) -> Iterator[Browser]:
    p = Browser(browser)
    yield p
    p.close()


def splices(entries: list[dict[str, Any]], package: str) -> set[tuple[str, str, str, str]]:
    return {
        (e["binary"]["id"], e["binary"]["file"], e["original"]["id"], e["replacement"]["id"])
        for e in entries
        if e["binary"]["package"] == package
    }


# --- packages, build matrix, builds ---------------------------------------------------------------------


def test_packages_list_counts_builds_binaries_predictions_outcomes(site: Site, page: Browser) -> None:
    assert page.open(site.url + "/") == 200
    rows = page.page.locator("#packages tbody tr")
    table = {
        r.locator("th").inner_text(): [c.inner_text().strip() for c in r.locator("td").all()]
        for r in rows.all()
    }
    assert {"libpng", "pigz", "zlib", BIG, XSS, SLASHED} <= set(table)
    for package in ("libpng", "pigz"):
        files = {
            (e["binary"]["id"], e["binary"]["file"])
            for e in site.predictions
            if e["binary"]["package"] == package
        }
        outcomes = [o for o in site.outcomes if o["binary"]["package"] == package]
        prefixes = [n for n in site.builds if n.startswith(package + "-")]
        builds, binaries, predicted, spliced_in, ran = table[package]
        assert spliced_in == ""  # nothing was swapped into libpng or pigz
        assert builds == f"{len(prefixes)} / {len(prefixes)}"
        assert binaries == str(len(files))
        assert predicted == str(len(splices(site.predictions, package)))
        assert ran == (str(len(outcomes)) if outcomes else "")
    zlib_in = {s for p in ("libpng", "pigz") for s in splices(site.predictions, p)}
    assert table["zlib"][3] == str(len(zlib_in))
    assert table[BIG][2] == "10000" and table[BIG][4] == str(len(site.extra["big_outcomes"]))
    page.shot("web-packages.png", full=True)
    page.page.get_by_role("link", name="libpng", exact=True).click()
    assert urlsplit(page.page.url).path == "/packages/libpng"
    assert page.page.locator("h1").inner_text() == "libpng"
    assert page.errors == []


def test_build_matrix_per_os_and_build_detail(site: Site, page: Browser) -> None:
    # what the matrix must show, from the builds and specs the API lists (what was uploaded)
    listed = httpx.get(f"{site.url}/api/v1/builds", params={"package": "zlib", "limit": 1000}).json()["items"]
    expected: dict[str, Counter[tuple[str, str, bool]]] = {}
    for b in listed:
        spec = httpx.get(f"{site.url}/api/v1/specs/{b['spec_id']}").json()
        compiler = f"{spec['compiler']['name']}@{spec['compiler']['version']}"
        key = (b["spec_version"], compiler, b["status"] == "SUCCESS")
        expected.setdefault(b["environment"]["host_os"], Counter())[key] += 1
    assert set(expected) == {"debian12", "rocky9"}

    def shown() -> dict[tuple[str, str], str]:
        compilers = [th.inner_text() for th in page.page.locator("#build-matrix thead th").all()[1:]]
        cells = {}
        for row in page.page.locator("#build-matrix tbody tr").all():
            version = row.locator("th").inner_text()
            for compiler, td in zip(compilers, row.locator("td").all(), strict=True):
                if td.inner_text().strip():
                    cells[(version, compiler)] = td.inner_text().strip()
        return cells

    def want(systems: list[str]) -> dict[tuple[str, str], str]:
        total: Counter[tuple[str, str]] = Counter()
        ok: Counter[tuple[str, str]] = Counter()
        for system in systems:
            for (version, compiler, success), n in expected[system].items():
                total[(version, compiler)] += n
                ok[(version, compiler)] += n if success else 0
        return {k: f"{ok[k]}/{n}" for k, n in total.items()}

    assert page.open(f"{site.url}/packages/zlib") == 200
    assert shown() == want(["debian12", "rocky9"])
    mixed = page.page.locator("#build-matrix td.tone-mixed")
    assert mixed.count() == 1  # 1.2.13 with gcc@12.2.0: built on debian12, failed on rocky9
    page.shot("web-package-zlib.png", full=True)

    with page.page.expect_navigation():
        page.page.select_option("select[name=os]", "rocky9")  # the selector applies itself
    assert parse_qs(urlsplit(page.page.url).query)["os"] == ["rocky9"]
    assert shown() == want(["rocky9"])
    assert page.page.locator("#build-matrix td.tone-bad").count() == 1
    page.shot("web-package-zlib-rocky9.png", full=True)

    # the cell lists its builds; the failed one shows its phases and the configure error
    page.page.locator("#build-matrix td.tone-bad a").click()
    rows = page.page.locator("#build-table tbody tr")
    assert rows.count() == 1 and "failed" in rows.inner_text()
    rows.locator("a").click()
    assert urlsplit(page.page.url).path == f"/builds/{site.builds['failed']}"
    phases = page.page.locator("details.phase")
    assert [p.locator(".phase-name").inner_text() for p in phases.all()] == ["stage", "edit"]
    failed = phases.nth(1)
    assert failed.get_attribute("open") is not None and "failed" in failed.locator("summary").inner_text()
    assert "'./configure'" in failed.locator("pre").inner_text()
    assert "rocky9" in page.page.locator("#environment").inner_text()
    page.shot("web-build-failed.png", full=True)
    assert page.errors == []


def test_build_page_of_a_fixture_install(site: Site, page: Browser) -> None:
    name = next(n for n in site.builds if n.startswith("pigz-2.8-"))
    prefix = next(p for t in TREES for p in t.glob(f"**/{name}") if p.is_dir())
    times = json.loads((prefix / ".spack" / "install_times.json").read_text())
    spec = json.loads((prefix / ".spack" / "spec.json").read_text())["spec"]["nodes"][0]
    assert page.open(f"{site.url}/builds/{site.builds[name]}") == 200
    phases = page.page.locator("details.phase")
    assert [p.locator(".phase-name").inner_text() for p in phases.all()] == [
        p["name"] for p in times["phases"]
    ]
    assert all("success" in p.locator("summary").inner_text() for p in phases.all())
    last = phases.nth(phases.count() - 1)
    last.locator("summary").click()
    assert f"Successfully installed {name}" in last.locator("pre").inner_text()
    assert spec["hash"] in page.page.locator("#spec").inner_text()
    deps = [d["name"] for d in spec.get("dependencies", [])]
    assert "zlib" in deps and page.page.locator("#dependencies a", has_text="zlib").count() == 1
    assert page.page.locator("#analysis").inner_text().count("bin/pigz") >= 1  # its corpora were uploaded
    page.shot("web-build-pigz.png", full=True)
    assert page.errors == []


# --- heatmap and splice page ----------------------------------------------------------------------------


def test_heatmap_hover_then_click_opens_the_splice_with_missing_symbols(site: Site, page: Browser) -> None:
    outcome = next(
        o
        for o in site.outcomes
        if o["binary"]["file"] == "bin/pngfix"
        and o["replacement"]["version"] == "1.2.8"
        and o["class"] != "ok"
    )
    entry = next(
        e
        for e in site.predictions
        if e["binary"]["id"] == outcome["binary"]["id"]
        and e["binary"]["file"] == "bin/pngfix"
        and e["replacement"]["id"] == outcome["replacement"]["id"]
    )
    loader = entry["predictors"]["loader"]
    assert loader["verdict"] == "breaks"
    assert {("inflateValidate", "ZLIB_1.2.9")} <= {(r["symbol"], r.get("version")) for r in loader["reasons"]}

    assert page.open(f"{site.url}/packages/libpng/heatmap") == 200
    page.wait_heatmap()
    row, col = label(entry["binary"], file=True), label(entry["replacement"])
    pos = page.cell(row, col)
    page.page.mouse.move(pos["x"], pos["y"])
    tooltip = page.page.locator("[data-hm=tooltip]")
    tooltip.wait_for(state="visible")
    text = tooltip.inner_text()
    assert row in text and col in text
    for name, p in entry["predictors"].items():
        assert f"{name}: {p['verdict']}" in text
    assert f"real outcome: {outcome['class']}" in text
    page.shot("web-heatmap-hover.png")

    with page.page.expect_navigation():
        page.page.mouse.click(pos["x"], pos["y"])
    url = urlsplit(page.page.url)
    assert url.path == "/packages/libpng/splice"
    assert parse_qs(url.query) == {
        "binary": [entry["binary"]["id"]],
        "file": ["bin/pngfix"],
        "replacement": [entry["replacement"]["id"]],
    }
    board = page.page.locator("article.predictor[data-predictor=loader]")
    assert "breaks" in board.locator("h3").inner_text()
    cells = [[td.inner_text() for td in tr.locator("td").all()] for tr in board.locator("tbody tr").all()]
    for r in loader["reasons"]:
        assert [r["kind"], r["symbol"], r["version"], r["library"]] in [c[:4] for c in cells]
    assert any(c[1] == "inflateValidate" and c[2] == "ZLIB_1.2.9" for c in cells)
    real = page.page.locator("#outcome")
    assert outcome["class"] in real.inner_text()
    assert page.page.locator("pre.loader-message").inner_text() == outcome["message"]
    assert "ZLIB_1.2.9' not found" in outcome["message"]
    # the selectors show the chosen splice; the replacements table marks it
    assert page.page.locator("select[name=replacement] option:checked").inner_text() == col
    assert page.page.locator("#replacements tr.current").inner_text().startswith(col)
    page.shot("web-splice.png", full=True)
    assert page.errors == [] and page.dialogs == []


def test_heatmap_of_a_dependency_has_every_binary_it_was_swapped_under(site: Site, page: Browser) -> None:
    assert page.open(f"{site.url}/packages/zlib/heatmap") == 200  # zlib has no binaries: role dependency
    page.wait_heatmap()
    rows = {(e["binary"]["id"], e["binary"]["file"]) for e in site.predictions if e["dependency"] == "zlib"}
    cols = {e["replacement"]["id"] for e in site.predictions if e["dependency"] == "zlib"}
    status = page.page.locator("[data-hm=status]").inner_text()
    assert status.startswith(f"{len(rows)} binary files \u00d7 {len(cols)} replacements")
    options = page.page.locator("[data-hm=package] option").all_inner_texts()
    assert {"libpng", "pigz"} <= set(options)
    assert (
        page.page.locator("select[name=role] option:checked").inner_text().startswith("with zlib swapped in")
    )
    page.shot("web-heatmap-zlib.png")
    assert page.errors == []


def test_splice_page_selectors_walk_to_an_unvalidated_splice(site: Site, page: Browser) -> None:
    assert page.open(f"{site.url}/packages/pigz/splice") == 200
    choices = page.page.locator("select[name=binary] option").all()
    binaries = {e["binary"]["id"] for e in site.predictions if e["binary"]["package"] == "pigz"}
    assert {o.get_attribute("value") for o in choices[1:]} == binaries
    assert page.page.locator("#choose-binary li").count() == len(binaries)
    page.shot("web-splice-choose.png")
    entry = next(e for e in site.predictions if e["binary"]["package"] == "pigz")
    with page.page.expect_navigation():
        page.page.select_option("select[name=binary]", entry["binary"]["id"])
    # one file and one dependency: both chosen; every replacement is listed with its verdicts
    assert page.page.locator("select[name=file] option:checked").inner_text() == entry["binary"]["file"]
    assert page.page.locator("select[name=dependency] option:checked").inner_text() == "zlib"
    same = [
        e
        for e in site.predictions
        if e["binary"]["id"] == entry["binary"]["id"] and e["binary"]["file"] == entry["binary"]["file"]
    ]
    table = page.page.locator("#replacements tbody tr")
    assert sorted(r.locator("th").inner_text() for r in table.all()) == sorted(
        label(e["replacement"]) for e in same
    )
    target = same[-1]
    with page.page.expect_navigation():
        page.page.select_option("select[name=replacement]", target["replacement"]["id"])
    for name, p in target["predictors"].items():
        board = page.page.locator(f"article.predictor[data-predictor={name}]")
        assert p["verdict"] in board.locator("h3").inner_text()
        assert board.locator("tbody tr").count() == len(p["reasons"])
    assert not any(o["binary"]["id"] == entry["binary"]["id"] for o in site.outcomes)
    assert "has not been performed for real" in page.page.locator("#outcome").inner_text()
    assert page.errors == []


# --- scoreboard -----------------------------------------------------------------------------------------


def board_numbers(page: Browser, predictor: str) -> dict[str, Any]:
    board = page.page.locator(f".board[data-predictor='{predictor}']")
    rows = board.locator("table.confusion tbody tr").all()
    confusion = {
        r.locator("th").inner_text(): [int(td.inner_text()) for td in r.locator("td").all()] for r in rows
    }
    return {"text": board.locator(".acc").inner_text(), "confusion": confusion}


def test_scoreboard_is_splicelab_evaluate_over_the_database(site: Site, page: Browser) -> None:
    libpng = [e for e in site.predictions if e["binary"]["package"] == "libpng"]
    expected = evaluate(libpng, site.outcomes)
    assert page.open(f"{site.url}/scoreboard?package=libpng") == 200
    assert page.page.locator(".board").count() == len(expected)
    for name, e in expected.items():
        shown = board_numbers(page, name)
        assert f"{e['correct']} of {e['total']} right" in shown["text"]
        assert f"{100 * e['accuracy']:.1f} %" in shown["text"]
        assert shown["confusion"] == {
            v: [e["confusion"][v]["ok"], e["confusion"][v]["fail"]] for v in e["confusion"]
        }
    page.shot("web-scoreboard.png", full=True)

    # the synthetic package has false "works": listed, each a link to its splice page
    big = site.extra["big"]
    expected = evaluate(big, site.extra["big_outcomes"])
    with page.page.expect_navigation():
        page.page.select_option("select[name=package]", BIG)
    symbols = page.page.locator(".board[data-predictor=symbols]")
    false_works = [m for m in expected["symbols"]["misses"] if m["verdict"] == "works"]
    assert false_works and symbols.locator("details.false-works summary").inner_text().startswith(
        f'{len(false_works)} false "works"'
    )
    symbols.locator("details.false-works summary").click()  # many: the list starts closed
    items = symbols.locator("details.false-works li")
    assert items.count() == min(200, len(false_works))
    first = false_works[0]
    assert items.first.locator("a").inner_text() == f"{first['binary']} ← {first['replacement']}"
    page.shot("web-scoreboard-bigpkg.png")
    with page.page.expect_navigation():
        items.first.locator("a").click()
    assert "works" in page.page.locator("article.predictor[data-predictor=symbols] h3").inner_text()
    assert first["class"] in page.page.locator("#outcome").inner_text()
    assert page.errors == []


# --- hostile names, size, empty database ------------------------------------------------------------------


def test_names_with_html_and_js_render_as_text(site: Site, page: Browser) -> None:
    bad = site.extra["bad"][0]

    def clean() -> None:
        page.page.wait_for_timeout(100)  # give any injected handler a chance to run
        assert page.dialogs == []
        assert page.page.locator("img, iframe, svg").count() == 0
        assert (
            page.page.evaluate(
                "[...document.querySelectorAll('b')].filter(b => b.textContent === 'bold').length"
            )
            == 0
        )

    assert page.open(site.url + "/") == 200
    assert page.page.get_by_role("link", name=XSS, exact=True).is_visible()
    assert page.page.get_by_role("link", name=SLASHED, exact=True).is_visible()
    clean()
    page.page.get_by_role("link", name=SLASHED, exact=True).click()
    assert page.page.locator("h1").inner_text() == SLASHED  # a name with "/" still finds its page
    assert page.open(f"{site.url}/packages/{quote(XSS, safe='')}/heatmap") == 200
    page.wait_heatmap()
    pos = page.cell(label(bad["binary"], file=True), label(bad["replacement"]))
    page.page.mouse.move(pos["x"], pos["y"])
    tooltip = page.page.locator("[data-hm=tooltip]")
    tooltip.wait_for(state="visible")
    assert XSS in tooltip.inner_text() and "<b>bold</b>: breaks" in tooltip.inner_text()
    page.shot("web-xss-heatmap.png")
    with page.page.expect_navigation():
        page.page.mouse.click(pos["x"], pos["y"])
    body = page.page.locator("main").inner_text()
    for text in (
        "<svg onload=alert(3)>",
        "lib\"x'.so",
        "V&1",
        "<b>bold</b>",
        XSS,
        "<script>alert(5)</script>",
    ):
        assert text in body, text
    clean()
    page.shot("web-xss-splice.png", full=True)
    assert page.open(f"{site.url}/scoreboard?package={quote(XSS, safe='')}") == 200
    assert "<script>alert(5)</script>" in page.page.locator(".board[data-predictor=loader]").inner_text()
    assert page.page.locator(".board h3").all_inner_texts() == sorted(["<b>bold</b>", "loader"])
    clean()
    assert page.errors == []


def test_ten_thousand_cell_heatmap_draws(site: Site, page: Browser) -> None:
    assert page.open(f"{site.url}/packages/{BIG}/heatmap") == 200
    page.wait_heatmap()
    status = page.page.locator("[data-hm=status]").inner_text()
    assert status.startswith("100 binary files \u00d7 100 replacements")
    drawn = page.page.evaluate("window.splicelabHeatmap.drawnAt")
    assert isinstance(drawn, int | float) and drawn > 0
    last = site.extra["big"][-1]
    pos = page.cell(label(last["binary"], file=True), label(last["replacement"]))
    page.page.mouse.move(pos["x"], pos["y"])
    tooltip = page.page.locator("[data-hm=tooltip]")
    tooltip.wait_for(state="visible")
    assert label(last["binary"], file=True) in tooltip.inner_text()
    page.shot("web-heatmap-10000.png")
    assert page.errors == []


EMPTY_PAGES = {
    "/": (200, "#empty-notice"),
    "/scoreboard": (200, "#no-outcomes"),
    "/scoreboard?package=zlib": (200, "#no-outcomes"),
    "/packages/zlib": (404, "#error-message"),
    "/packages/zlib/heatmap?role=dependency": (404, "#error-message"),
    "/packages/zlib/splice?binary=x&file=y": (404, "#error-message"),
    "/packages/zlib?os=rocky9&version=1.2.13&compiler=gcc@12.2.0": (404, "#error-message"),
    "/builds/1": (404, "#error-message"),
    "/builds/not-a-number": (404, "#error-message"),
}


def test_empty_database_renders_every_page(tmp_path: Path, browser: Any) -> None:
    with database("sqlite", tmp_path) as url, Server(url, tmp_path) as server:
        for path, (status, selector) in EMPTY_PAGES.items():
            p = Browser(browser)
            try:
                assert p.open(server.url + path) == status, path
                assert p.page.locator(selector).is_visible(), path
                assert p.page.locator("nav.main-nav a").count() == 3  # the site's frame, not a bare error
                assert [e for e in p.errors if "404" not in e] == [], path
                assert all(code < 400 for u, code in p.statuses.items() if "/static/" in u or "/assets/" in u)
                shot = {"/": "web-empty-packages.png", "/scoreboard": "web-empty-scoreboard.png"}.get(path)
                if shot:
                    p.shot(shot)
            finally:
                p.close()
        assert "500" not in server.log()


def test_postgresql_serves_the_same_pages(site: Site, tmp_path: Path) -> None:
    """The pages' queries on PostgreSQL: the fixture's real predictions and outcomes, and no data."""
    run = site.work / "run"
    with database("postgresql", tmp_path) as url:
        token = add_user(url, "tester")
        with Server(url, tmp_path) as server:
            for path, (status, _) in EMPTY_PAGES.items():
                assert httpx.get(server.url + path).status_code == status, path
            env = {"SPLICELAB_USER": "tester", "SPLICELAB_TOKEN": token}
            files = (str(run / "predictions.json"), str(run / "outcomes.json"))
            splicelab("upload", *files, "--host", server.url, "--retry-for", "10", env=env)
            index = httpx.get(server.url + "/").text
            assert f">{len(splices(site.predictions, 'libpng'))}</a>" in index
            entry = next(e for e in site.predictions if e["binary"]["package"] == "libpng")
            for path in (
                "/packages/libpng",
                "/packages/libpng/heatmap",
                "/packages/zlib/heatmap",
                "/scoreboard",
            ):
                assert httpx.get(server.url + path).status_code == 200, path
            reply = httpx.get(
                f"{server.url}/packages/libpng/splice",
                params={"binary": entry["binary"]["id"], "file": entry["binary"]["file"]},
            )
            assert reply.status_code == 200 and "Every replacement of zlib" in reply.text
            expected = evaluate(
                [e for e in site.predictions if e["binary"]["package"] == "libpng"], site.outcomes
            )
            board = httpx.get(f"{server.url}/scoreboard", params={"package": "libpng"}).text
            for e in expected.values():
                assert f"{e['correct']} of {e['total']} right" in board


def test_pages_need_a_token_when_anonymous_reads_are_off(tmp_path: Path) -> None:
    with (
        database("sqlite", tmp_path) as url,
        Server(url, tmp_path, env={"SPLICELAB_ANONYMOUS_READ": "false"}) as server,
    ):
        for path in ("/", "/scoreboard", "/packages/zlib", "/builds/1"):
            assert httpx.get(server.url + path).status_code == 401, path
        assert httpx.get(server.url + "/static/web.css").status_code == 200  # assets are public


def test_heatmap_and_scoreboard_follow_new_uploads(site: Site) -> None:
    """The costly pages are kept between requests, but never past a change of the data under them."""
    dep = site.extra["bad"][0]["dependency"]
    url = f"{site.url}/packages/{quote(dep, safe='')}/heatmap"
    before = httpx.get(url, params={"role": "dependency"}).text
    assert httpx.get(url, params={"role": "dependency"}).text == before  # kept: the same page
    late = {**site.extra["bad"][0], "binary": {**site.extra["bad"][0]["binary"], "package": "late-arrival"}}
    late["predictors"] = {"late-predictor": {"verdict": "unknown", "reasons": []}}
    assert post(site, "predictions", [late]) == 1
    after = httpx.get(url, params={"role": "dependency"}).text
    assert "late-predictor" not in before and "late-predictor" in after
    assert "late-arrival" in after
    board = httpx.get(f"{site.url}/scoreboard", params={"package": "late-arrival"}).text
    assert "1 splice predicted, 0 performed for real" in board
