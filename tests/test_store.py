"""The monitor's store on real SQLite and real PostgreSQL: migrations, spec documents of every Spack
generation, idempotent upserts, build cancellation, corpora by digest, users."""

from __future__ import annotations

import copy
import hashlib
import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select, text

from splicelab.corpus import CorpusFormatError
from splicelab.elf import is_elf, read_corpus
from splicelab.store import Database, open_database
from splicelab.store import artifacts as artifact_store
from splicelab.store import builds as build_store
from splicelab.store import corpora as corpus_store
from splicelab.store import outcomes as outcome_store
from splicelab.store import predictions as prediction_store
from splicelab.store import specs as spec_store
from splicelab.store import users as user_store
from splicelab.store.migrate import current_revision, head_revision
from splicelab.store.models import (
    ArtifactFile,
    Build,
    Corpus,
    Outcome,
    Prediction,
    Spec,
    SpecDependency,
    User,
)
from splicelab.store.paths import UnsafePathError, safe_relative_path, strip_install_prefix
from splicelab.store.specjson import SpecFormatError, parse_spec
from test_server_harness import BACKENDS, database

FIXTURES = Path(__file__).resolve().parent.parent.parent / "shared" / "fixtures"
ENV_A = {
    "hostname": "a",
    "platform": "linux",
    "kernel_version": "6.1",
    "host_os": "debian12",
    "host_target": "x86",
}
ENV_B = {**ENV_A, "hostname": "b"}


def prefix(tree: str, package: str) -> Path:
    found = sorted((FIXTURES / tree / "opt").glob(f"**/{package}-*/.spack/spec.json"))
    if not found:
        pytest.skip(f"fixture {tree}/{package} not present")
    return found[0].parent.parent


def spec_doc(tree: str, package: str) -> dict[str, Any]:
    return json.loads((prefix(tree, package) / ".spack" / "spec.json").read_text())


def elf_corpora(root: Path) -> dict[str, dict[str, Any]]:
    out = {}
    for f in sorted(root.rglob("*")):
        if f.is_file() and not f.is_symlink() and is_elf(f):
            rel = f.relative_to(root).as_posix()
            out[rel] = read_corpus(f, rel).to_dict()
    return out


@pytest.fixture(params=BACKENDS)
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    with database(request.param, tmp_path) as url:
        handle = open_database(url)
        try:
            yield handle
        finally:
            handle.dispose()


def count(db: Database, model: type) -> int:
    with db.session() as s:
        return s.scalar(select(func.count()).select_from(model)) or 0


# --- migrations ------------------------------------------------------------------------------------


def test_migrations_reach_head_and_can_run_again(db: Database) -> None:
    assert current_revision(db) == head_revision() is not None
    again = open_database(db.url)  # a second start finds nothing to do
    assert current_revision(again) == head_revision()
    again.dispose()
    with db.session() as s:
        assert s.execute(text("SELECT count(*) FROM corpora")).scalar() == 0


def test_sqlite_runs_in_wal_mode(tmp_path: Path) -> None:
    db = open_database(f"sqlite:///{tmp_path / 'w.db'}")
    with db.session() as s:
        assert s.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert int(s.execute(text("PRAGMA busy_timeout")).scalar() or 0) > 0
    db.dispose()


# --- spec documents --------------------------------------------------------------------------------


def test_spec_json_v5_identity_edges_and_compiler() -> None:
    root = prefix("spack-1.0", "pigz-2.8")
    nodes = parse_spec(spec_doc("spack-1.0", "pigz-2.8"))
    assert nodes[0].name == "pigz"
    assert root.name.endswith(nodes[0].full_hash)
    by_hash = {n.full_hash: n for n in nodes}
    for edge in nodes[0].dependencies:  # every edge names a node of the same document
        assert by_hash[edge.hash].name == edge.name
    compiler_edge = next(e for e in nodes[0].dependencies if "c" in e.virtuals)
    assert nodes[0].compiler_name == compiler_edge.name
    assert nodes[0].compiler_version == by_hash[compiler_edge.hash].version


def test_spec_json_v4_has_its_compiler_key() -> None:
    doc = spec_doc("spack-0.23", "pigz-2.8")
    nodes = parse_spec(doc)
    raw = doc["spec"]["nodes"][0]
    assert (nodes[0].compiler_name, nodes[0].compiler_version) == (
        raw["compiler"]["name"],
        raw["compiler"]["version"],
    )
    link = [e for e in nodes[0].dependencies if "link" in e.types]
    assert {e.name for e in link} == {
        d["name"] for d in raw["dependencies"] if "link" in d["parameters"]["deptypes"]
    }


def test_spec_json_v2_full_hash_is_identity_and_edges_are_canonical() -> None:
    doc = {
        "spec": {
            "_meta": {"version": 2},
            "nodes": [
                {
                    "name": "curl",
                    "version": "7.79.0",
                    "arch": {
                        "platform": "linux",
                        "platform_os": "ubuntu20.04",
                        "target": {"name": "skylake"},
                    },
                    "compiler": {"name": "gcc", "version": "9.3.0"},
                    "dependencies": [{"name": "zlib", "build_hash": "zbuild", "type": ["build", "link"]}],
                    "hash": "cdag",
                    "full_hash": "cfull",
                    "build_hash": "cbuild",
                },
                {
                    "name": "zlib",
                    "version": "1.2.11",
                    "hash": "zdag",
                    "full_hash": "zfull",
                    "build_hash": "zbuild",
                },
            ],
        }
    }
    curl, zlib = parse_spec(doc)
    assert (curl.full_hash, zlib.full_hash) == ("cfull", "zfull")
    assert curl.target == "skylake"
    # the edge named zlib by its build hash; it now points at zlib's identifying hash
    assert [(e.name, e.hash, e.types) for e in curl.dependencies] == [("zlib", "zfull", ("build", "link"))]


def test_spec_yaml_v1_nodes_and_dict_dependencies() -> None:
    pigz_node = {"version": "2.4", "hash": "p1", "dependencies": {"zlib": {"hash": "z1", "type": ["link"]}}}
    doc = {"spec": [{"pigz": pigz_node}, {"zlib": {"version": "1.2.11", "hash": "z1"}}]}
    pigz, zlib = parse_spec(doc)
    assert pigz.name == "pigz" and zlib.name == "zlib"
    assert [(e.name, e.hash) for e in pigz.dependencies] == [("zlib", "z1")]


@pytest.mark.parametrize(
    ("doc", "field"),
    [
        ({"spec": {"nodes": []}}, "spec.nodes"),
        ({"spec": {"nodes": [{"version": "1"}]}}, "spec.nodes[0]: missing field 'name'"),
        ({"spec": {"nodes": [{"name": "x"}]}}, "missing field 'hash'"),
        (
            {"spec": {"nodes": [{"name": "x", "hash": "h", "dependencies": [{"hash": "y"}]}]}},
            "dependencies[0]",
        ),
        ({"spec": {"nodes": [{"name": "x", "hash": "h", "arch": "linux"}]}}, "spec.nodes[0].arch"),
    ],
)
def test_bad_spec_documents_name_the_field(doc: dict[str, Any], field: str) -> None:
    with pytest.raises(SpecFormatError, match=field.replace("[", r"\[").replace("]", r"\]")):
        parse_spec(doc)


# --- specs and builds --------------------------------------------------------------------------------


def test_spec_import_is_idempotent_and_fills_stubs(db: Database) -> None:
    pigz_nodes = parse_spec(spec_doc("spack-1.0", "pigz-2.8"))
    zlib_hash = next(e.hash for e in pigz_nodes[0].dependencies if e.name == "zlib")
    only_root = pigz_nodes[:1]  # the root alone: its dependencies become stubs

    def work(nodes: list[Any]) -> tuple[int, bool]:
        return db.write(lambda s: (lambda r: (r[0].id, r[1]))(spec_store.import_nodes(s, nodes, "1.0.2")))

    first_id, created = work(only_root)
    assert created
    assert count(db, Spec) == 1 + len(pigz_nodes[0].dependencies)
    with db.session() as s:
        stub = s.scalar(select(Spec).where(Spec.full_hash == zlib_hash))
        assert stub is not None and stub.version == ""
    again_id, created_again = work(pigz_nodes)  # the full document fills the stubs in
    assert (again_id, created_again) == (first_id, False)
    with db.session() as s:
        filled = s.scalar(select(Spec).where(Spec.full_hash == zlib_hash))
        zlib_node = next(n for n in pigz_nodes if n.full_hash == zlib_hash)
        assert filled is not None and filled.version == zlib_node.version
    n_specs, n_edges = count(db, Spec), count(db, SpecDependency)
    work(pigz_nodes)
    assert (
        (count(db, Spec), count(db, SpecDependency))
        == (n_specs, n_edges)
        == (
            len(pigz_nodes),
            sum(len(n.dependencies) for n in pigz_nodes),
        )
    )


def test_failed_build_cancels_unfinished_dependents_in_its_environment(db: Database) -> None:
    nodes = parse_spec(spec_doc("spack-1.0", "pigz-2.8"))
    zlib_hash = next(e.hash for e in nodes[0].dependencies if e.name == "zlib")
    runtime_hash = next(e.hash for e in nodes[0].dependencies if e.name == "gcc-runtime")

    def setup(s: Any) -> dict[str, int]:
        root, _ = spec_store.import_nodes(s, nodes, "1.0.2")
        zlib = spec_store.find_by_hash(s, zlib_hash)
        runtime = spec_store.find_by_hash(s, runtime_hash)
        assert zlib is not None and runtime is not None
        ids = {
            "pigz_a": build_store.get_build(s, root, ENV_A, None)[0].id,
            "pigz_b": build_store.get_build(s, root, ENV_B, None)[0].id,
            "zlib_a": build_store.get_build(s, zlib, ENV_A, None)[0].id,
            "runtime_a": build_store.get_build(s, runtime, ENV_A, None)[0].id,
        }
        build_store.set_status(s, s.get(Build, ids["zlib_a"]), "SUCCESS")
        return ids

    ids = db.write(setup)
    # gcc-runtime fails: zlib (succeeded) stays, pigz on A is cancelled, pigz on B is another machine
    cancelled = db.write(lambda s: build_store.set_status(s, s.get(Build, ids["runtime_a"]), "FAILED"))
    assert cancelled == [ids["pigz_a"]]
    with db.session() as s:
        status = {k: s.get(Build, v).status for k, v in ids.items()}  # type: ignore[union-attr]
    assert status == {"pigz_a": "CANCELLED", "pigz_b": "NOTRUN", "zlib_a": "SUCCESS", "runtime_a": "FAILED"}
    with pytest.raises(build_store.BuildError, match="status"):
        db.write(lambda s: build_store.set_status(s, s.get(Build, ids["pigz_a"]), "EXPLODED"))


def test_build_get_or_create_is_idempotent_and_merges_tags(db: Database) -> None:
    nodes = parse_spec(spec_doc("spack-1.0", "zlib-1.3.1"))

    def work(tags: list[str]) -> tuple[int, bool, list[str]]:
        def inner(s: Any) -> tuple[int, bool, list[str]]:
            root, _ = spec_store.import_nodes(s, nodes)
            b, created, _env = build_store.get_build(s, root, ENV_A, None, tags)
            return b.id, created, [t.tag for t in b.tags]

        return db.write(inner)

    first = work(["x"])
    second = work(["x", "y"])
    assert first[0] == second[0] and first[1] and not second[1]
    assert second[2] == ["x", "y"]
    assert count(db, Build) == 1


# --- corpora, artifacts, predictions, outcomes --------------------------------------------------------


def test_corpora_are_stored_once_per_content(db: Database) -> None:
    docs = list(elf_corpora(prefix("spack-1.0", "zlib-1.3.1")).values())
    assert docs
    reordered = [json.loads(json.dumps(d, sort_keys=True)) for d in reversed(docs)]  # same content
    changed = copy.deepcopy(docs[0])
    changed["needed"] = [*changed["needed"], "libextra.so.1"]
    first, new = db.write(
        lambda s: corpus_store.store(s, [corpus_store.prepare(copy.deepcopy(d)) for d in docs])
    )
    assert new == len(docs)
    again, new_again = db.write(lambda s: corpus_store.store(s, [corpus_store.prepare(d) for d in reordered]))
    assert again == first and new_again == 0
    _, one_more = db.write(lambda s: corpus_store.store(s, [corpus_store.prepare(changed)]))
    assert one_more == 1 and count(db, Corpus) == len(docs) + 1
    with db.session() as s:
        stored = s.scalar(select(Corpus).where(Corpus.digest == next(iter(first))))
        assert stored is not None
        assert hashlib.sha256(stored.data.encode()).hexdigest() == stored.digest


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        (lambda d: d["symbols"][0].__setitem__("size", "big"), "symbols[0].size"),
        (lambda d: d.__setitem__("path", "../etc/passwd"), "path"),
        (lambda d: d.__setitem__("path", "/usr/lib/libz.so"), "absolute"),
        (lambda d: d.__setitem__("schema", "other/1"), "schema"),
        (lambda d: d.__setitem__("needed", "libc.so.6"), "needed"),
        (lambda d: d["symbols"].append({"type": "FUNC"}), "symbols"),
    ],
)
def test_bad_corpora_name_the_field(mutate: Any, field: str) -> None:
    doc = next(iter(elf_corpora(prefix("spack-1.0", "zlib-1.3.1")).values()))
    mutate(doc)
    with pytest.raises(CorpusFormatError, match=field.replace("[", r"\[").replace("]", r"\]")):
        corpus_store.prepare(doc, "corpora[7]")


def test_artifact_reupload_updates_and_keeps_files(db: Database) -> None:
    files = {**elf_corpora(prefix("spack-1.0", "zlib-1.3.1")), **elf_corpora(prefix("spack-1.0", "pigz-2.8"))}
    assert len(files) >= 2
    doc = {"name": "zlib", "version": "1.3.1", "build_id": "abc", "root": "/x", "files": files}
    db.write(lambda s: artifact_store.store(s, [artifact_store.prepare(copy.deepcopy(doc))]))
    kept, changed = sorted(files)[0], sorted(files)[-1]
    partial = {**doc, "compiler": "gcc@12", "files": {changed: {**files[changed], "needed": ["libq.so"]}}}
    result = db.write(lambda s: artifact_store.store(s, [artifact_store.prepare(partial)]))
    assert result[0]["created"] is False
    with db.session() as s:
        rows = {f.path: f.corpus_id for f in s.scalars(select(ArtifactFile))}
        assert set(rows) == set(files)  # nothing lost
        docs = corpus_store.documents_by_id(s, [rows[changed], rows[kept]])
    assert docs[rows[changed]]["needed"] == ["libq.so"]
    assert docs[rows[kept]]["needed"] == files[kept]["needed"]


def _prediction(verdict: str) -> dict[str, Any]:
    return {
        "binary": {"package": "pigz", "version": "2.8", "hash": "hlq", "file": "bin/pigz"},
        "dependency": "zlib",
        "original": {"package": "zlib", "version": "1.3.1", "hash": "eem"},
        "replacement": {"package": "zlib", "version": "1.2.8", "hash": "izp"},
        "predictors": {"loader": {"verdict": verdict, "reasons": []}, "symbols": {"verdict": "works"}},
    }


def test_predictions_upsert_on_their_natural_key(db: Database) -> None:
    db.write(lambda s: prediction_store.store(s, prediction_store.rows(_prediction("works"))))
    db.write(lambda s: prediction_store.store(s, prediction_store.rows(_prediction("breaks"))))
    with db.session() as s:
        verdicts = {p.predictor: p.verdict for p in s.scalars(select(Prediction))}
    assert verdicts == {"loader": "breaks", "symbols": "works"}
    with pytest.raises(prediction_store.PredictionFormatError, match=r"predictors\['loader'\].verdict"):
        prediction_store.rows(_prediction("maybe"))


def test_outcomes_upsert_on_their_natural_key(db: Database) -> None:
    entry = {
        **{"program": "curl", "program_release": "bookworm", "library": "libcurl4", "library_release": "sid"},
        **{"mode": "C", "method": "hermetic", "class": "undefined-symbol", "message": "m1"},
    }
    db.write(lambda s: outcome_store.store(s, [outcome_store.row(entry)]))
    db.write(lambda s: outcome_store.store(s, [outcome_store.row({**entry, "class": "ok", "message": "m2"})]))
    db.write(lambda s: outcome_store.store(s, [outcome_store.row({**entry, "mode": "B"})]))
    with db.session() as s:
        rows = {o.mode: (o.outcome_class, o.message) for o in s.scalars(select(Outcome))}
    assert rows == {"C": ("ok", "m2"), "B": ("undefined-symbol", "m1")}


def test_concurrent_identical_writes_store_one_row(db: Database) -> None:
    """Eight threads upload the same spec and corpora at once: one row each, no errors."""
    nodes = parse_spec(spec_doc("spack-1.0", "pigz-2.8"))
    docs = list(elf_corpora(prefix("spack-1.0", "zlib-1.3.1")).values())
    errors: list[BaseException] = []
    barrier = threading.Barrier(8)

    def worker() -> None:
        try:
            barrier.wait()
            for _ in range(3):
                db.write(lambda s: spec_store.import_nodes(s, nodes, "1.0.2"))
                db.write(
                    lambda s: corpus_store.store(s, [corpus_store.prepare(copy.deepcopy(d)) for d in docs])
                )
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert count(db, Spec) == len(nodes)
    assert count(db, Corpus) == len(docs)


# --- file names and users ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["../x", "a/../../x", "/etc/passwd", "a\\b", "", ".", "a\x00b", "C:/x"])
def test_unsafe_file_names_are_refused(name: str) -> None:
    with pytest.raises(UnsafePathError, match="install_file"):
        safe_relative_path(name, "install_file")


def test_safe_names_are_normalized_and_prefixes_stripped() -> None:
    assert safe_relative_path("./lib//libz.so.1") == "lib/libz.so.1"
    path = "/home/u/spack/opt/linux/zlib-1.3.1-abcdefg/lib/libz.so"
    assert strip_install_prefix(path, ("abcdefg",)) == "lib/libz.so"
    with pytest.raises(UnsafePathError, match="outside"):
        strip_install_prefix("/etc/passwd", ("abcdefg",))


def test_users_tokens_are_stored_hashed(db: Database) -> None:
    _user, token = user_store.add_user(db, "alice")
    with db.session() as s:
        row = s.scalar(select(User).where(User.name == "alice"))
        assert row is not None
        assert row.token_hash != token and row.token_hash == hashlib.sha256(token.encode()).hexdigest()
        assert user_store.authenticate(s, "alice", token) is not None
        assert user_store.authenticate(s, "alice", token + "x") is None
        assert user_store.authenticate(s, "bob", token) is None
    with pytest.raises(user_store.UserError, match="exists"):
        user_store.add_user(db, "alice")
    with pytest.raises(user_store.UserError, match="user name"):
        user_store.add_user(db, "no spaces")
    new = user_store.reset_token(db, "alice")
    with db.session() as s:
        assert user_store.authenticate(s, "alice", token) is None
        assert user_store.authenticate(s, "alice", new) is not None
