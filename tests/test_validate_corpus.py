"""Acceptance: validate's classes agree with the corpus's outcomes.jsonl wherever versions match.

Five families (curl, xmllint, pigz, lz4, pngfix) x four releases x modes B and C, performed for real in
the sandbox with each release's own loader. trixie and sid move on: a pair is compared only where the
fetched program and library versions are the manifest's.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from splicelab.sources.debian import DEFAULT_RELEASES, DebianSet, fetch_debian
from splicelab.validate import validate
from splicelab.validate.debian import debian_jobs
from splicelab.validate.sandbox import namespaces_available
from test_debian import FAMILIES, debian_cache

STATUS = {
    "OK": "ok",
    "ABI-symbol": "undefined-symbol",
    "ABI-vernode": "missing-version",
    "SONAME": "soname-not-found",
    "GLIBC-exe": "glibc-program",
    "GLIBC-lib": "glibc-library",
    "DEP-too-old": "dependency",
    "DEP-missing": "dependency",
    "RUNTIME": "runtime-refused",
}
FAMILY = {"curl": "libcurl", "libxml2": "libxml2", "zlib": "zlib", "lz4": "liblz4", "libpng1.6": "libpng"}

pytestmark = [pytest.mark.network, pytest.mark.slow]


def _manifest(corpus: Path) -> dict[str, dict[str, str]]:
    out: dict[str, dict[str, str]] = {}
    for f in (corpus / "manifest").glob("*.tsv"):
        out[f.stem] = dict(line.split("\t", 1) for line in f.read_text().splitlines() if "\t" in line)
    return out


@pytest.fixture(scope="module")
def dset() -> DebianSet:
    out = fetch_debian(FAMILIES, DEFAULT_RELEASES, debian_cache())
    assert out.errors == []
    return out


@pytest.fixture(scope="module")
def outcomes(dset: DebianSet) -> list[dict]:
    if not namespaces_available():
        pytest.skip("needs mount/network namespaces (root)")
    return list(validate(debian_jobs(dset, ("B", "C")), workers=2))


def test_every_pair_is_performed(outcomes: list[dict]) -> None:
    assert len(outcomes) == 5 * 4 * 4 * 2
    assert {o["mode"] for o in outcomes} == {"B", "C"}
    assert all(o["isolation"] == "namespace" for o in outcomes)


def test_classes_agree_with_the_corpus(outcomes: list[dict], dset: DebianSet, shared_dir: Path) -> None:
    corpus = shared_dir / "corpus"
    truth = {
        (r["mode"], r["fam"], r["X"], r["Y"]): r
        for r in map(json.loads, (corpus / "outcomes.jsonl").read_text().splitlines())
    }
    manifest = _manifest(corpus)
    compared = skipped_versions = 0
    wrong = []
    for o in outcomes:
        x, y = o["program_release"], o["library_release"]
        t = truth[(o["mode"], FAMILY[o["dependency"]], x, y)]
        if t["status"].startswith("NOLINK"):
            assert o["linked"] is False  # the program does not load the family's library at all
            continue
        same = (
            manifest[x].get(o["program"]) == o["binary"]["version"]
            and manifest[y].get(o["library"]) == o["replacement"]["version"]
        )
        if not same:
            skipped_versions += 1
            continue
        compared += 1
        if STATUS[t["status"]] != o["class"]:
            wrong.append((o["mode"], o["dependency"], x, y, o["class"], t["status"], o["message"]))
        if o["class"] == "ok":
            assert o["substituted"], o  # the family's library really came from Y
    assert wrong == []
    assert compared >= 80, (compared, skipped_versions)


def test_messages_name_what_is_missing(outcomes: list[dict]) -> None:
    by = {(o["mode"], o["dependency"], o["program_release"], o["library_release"]): o for o in outcomes}
    lz4 = by[("C", "lz4", "sid", "bullseye")]
    assert lz4["class"] == "undefined-symbol" and lz4["symbol"] == "LZ4_attach_dictionary"
    xml = by[("C", "libxml2", "bookworm", "sid")]
    assert xml["class"] == "glibc-library" and xml["version"].startswith("GLIBC_2.")
    son = by[("B", "libxml2", "sid", "bullseye")]
    assert son["class"] == "soname-not-found" and "libxml2.so.16" in son["message"]
    dep = by[("C", "curl", "bookworm", "bullseye")]
    assert dep["class"] == "dependency" and "libssl.so.1.1" in dep["message"]
    ok = by[("C", "zlib", "bullseye", "sid")]
    assert ok["class"] == "ok" and ok["loaded"]["libz.so.1"].startswith("/.splice/")
