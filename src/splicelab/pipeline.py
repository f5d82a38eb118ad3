"""The main job, as library functions: fetch → analyze → predict → validate → evaluate → report → store.

    from splicelab.pipeline import RunConfig, run
    result = run(RunConfig("zlib", out=Path("out/zlib")))
    result.errors          # [StageError("validate", "…")] — every other stage still ran
    result.files["report"] # out/zlib/report.html

The source is the Debian archive (:mod:`splicelab.sources.debian`): for a Debian *source* package its
shared-library binary packages in each release (whatever they are called there) are the family spliced,
and its program (given, built in, or a binary package that links the library) the binary. Every
(program release X, library release Y) pair is predicted (:mod:`splicelab.predict.families`) and
performed for real (:mod:`splicelab.validate`) in mode C (X's own system) and/or mode B (the newest
release's system), then scored (:mod:`splicelab.evaluate`), drawn (:mod:`splicelab.report`) and stored
in the database ``splicelab serve`` reads (:mod:`splicelab.store`).

A stage that fails is recorded in ``errors`` with its name; the stages after it work with what there is
(no outcomes: no evaluation against them, and so on) and nothing already written is removed. Files
written into ``out`` (docs/run.md lists them): artifacts.json, predictions.json,
symbolator-predictions.json, matrix.csv, outcomes.json, evaluation.json, report.html, summary.md, and
per mode ``mode-B/`` and ``mode-C/`` with that mode's predictions, outcomes, evaluation, matrix,
heatmaps and report.
"""

from __future__ import annotations

import json
import shutil
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from splicelab import predict as registry
from splicelab.artifact import Artifact
from splicelab.parallel import Executor
from splicelab.predict.families import FamilyPrediction
from splicelab.sources.debian import DEFAULT_RELEASES, DebianSet, release_key

STAGES = ("fetch", "analyze", "predict", "validate", "evaluate", "report", "store")
MODES = {"system": ("C",), "interface": ("B",), "both": ("B", "C")}
MODE_NAMES = {"B": "interface", "C": "system"}


class Reporter(Protocol):
    """What the pipeline tells about its progress (the CLI draws it; the default says nothing)."""

    def start(self, stage: str, total: int | None = None) -> None: ...

    def total(self, stage: str, total: int) -> None: ...

    def advance(self, stage: str, n: int = 1, note: str = "") -> None: ...

    def finish(self, stage: str, summary: str) -> None: ...


class _Silent:
    def start(self, stage: str, total: int | None = None) -> None:
        pass

    def total(self, stage: str, total: int) -> None:
        pass

    def advance(self, stage: str, n: int = 1, note: str = "") -> None:
        pass

    def finish(self, stage: str, summary: str) -> None:
        pass


@dataclass(frozen=True)
class RunConfig:
    """What to run: the Debian source package and where its results go."""

    source: str
    out: Path
    releases: tuple[str, ...] = DEFAULT_RELEASES
    modes: tuple[str, ...] = ("B", "C")
    programs: tuple[tuple[str, str], ...] = ()  # (binary package, program path); () = the default
    predictors: tuple[str, ...] = registry.DEFAULT
    cache: Path | None = None  # the Debian cache (default: <SPLICELAB_CACHE>/debian)
    validate: bool = True
    db_url: str | None = None  # None: the database `splicelab serve` uses by default
    store: bool = True
    jobs: int = 2  # splices performed side by side (per Dask worker, when there are workers)
    timeout: float = 10.0  # seconds per smoke command
    smoke: Path | None = None  # smoke commands added to (or replacing) the built-in ones
    report: bool = True  # draw the heatmaps and write the HTML reports


@dataclass(frozen=True, slots=True)
class StageError:
    stage: str
    message: str

    def __str__(self) -> str:
        return f"{self.stage}: {self.message}"


@dataclass
class RunResult:
    """Everything a run produced (also written into ``config.out``)."""

    config: RunConfig
    dset: DebianSet | None = None
    predictions: list[FamilyPrediction] = field(default_factory=list)
    entries: list[dict[str, Any]] = field(default_factory=list)  # predictions.json
    outcomes: list[dict[str, Any]] = field(default_factory=list)  # outcomes.json
    evaluation: dict[str, Any] = field(default_factory=dict)  # evaluation.json (both modes)
    by_mode: dict[str, dict[str, Any]] = field(default_factory=dict)  # mode -> evaluation
    files: dict[str, Path] = field(default_factory=dict)
    errors: list[StageError] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)
    stored: dict[str, int] = field(default_factory=dict)
    validated: bool = False

    @property
    def report(self) -> Path | None:
        return self.files.get("report")

    def entries_of(self, mode: str) -> list[dict[str, Any]]:
        return [e for e in self.entries if e.get("mode") == mode]

    def outcomes_of(self, mode: str) -> list[dict[str, Any]]:
        return [o for o in self.outcomes if o.get("mode") == mode]


def parse_modes(text: str) -> tuple[str, ...]:
    """``system`` → (C,), ``interface`` → (B,), ``both`` → (B, C); ValueError otherwise."""
    try:
        return MODES[text]
    except KeyError:
        raise ValueError(f"mode {text!r}: expected one of {', '.join(MODES)}") from None


def run(
    config: RunConfig, *, reporter: Reporter | None = None, executor: Executor | None = None
) -> RunResult:
    """Run every stage on ``config``; ``executor`` runs the predictions and the splices (default:
    in-process; Dask workers must see the Debian cache at the same path)."""
    rep = reporter or _Silent()
    result = RunResult(config)
    config.out.mkdir(parents=True, exist_ok=True)
    stages: list[tuple[str, Callable[[RunResult, Reporter, Executor | None], str]]] = [
        ("fetch", _fetch),
        ("analyze", _analyze),
        ("predict", _predict),
        ("validate", _validate),
        ("evaluate", _evaluate),
        ("report", _report),
        ("store", _store),
    ]
    for name, stage in stages:
        started = time.perf_counter()
        rep.start(name)
        try:
            summary = stage(result, rep, executor)
        except Exception as exc:  # one stage's failure must not lose the others' work
            result.errors.append(StageError(name, f"{type(exc).__name__}: {exc}"))
            summary = "failed"
        result.seconds[name] = round(time.perf_counter() - started, 3)
        rep.finish(name, summary)
    result.files["summary"] = config.out / "summary.md"
    result.files["summary"].write_text(summary_markdown(result))
    return result


# --- the stages -------------------------------------------------------------------------------------------


def _fetch(result: RunResult, rep: Reporter, _executor: Executor | None) -> str:
    from splicelab.sources.debian import default_cache, fetch_debian

    c = result.config
    dset = fetch_debian(
        [c.source],
        c.releases,
        c.cache or default_cache() / "debian",
        list(c.programs) or None,
        progress=lambda name: rep.advance("fetch", 1, name),
    )
    result.dset = dset
    result.errors += [StageError("fetch", e) for e in dset.errors]
    fams = dset.families.get(c.source, {})
    if not fams:
        raise RuntimeError(f"source package {c.source!r}: no release has a shared-library package of it")
    return f"{len(fams)} releases, {sum(len(f.libraries) for f in fams.values())} library packages"


def _analyze(result: RunResult, rep: Reporter, _executor: Executor | None) -> str:
    """artifacts.json: every package of the releases; the family's and its programs' with their corpora
    (the rest of each runtime, which every release root holds, without: it would be tens of MB)."""
    if result.dset is None:
        return "nothing fetched"
    arts = result.dset.artifacts
    rep.total("analyze", len(arts))
    family = {a.id for a in family_artifacts(result.dset, result.config.source)}
    docs = []
    for a in arts:
        docs.append(a.to_dict(with_files=a.id in family))
        rep.advance("analyze")
    path = result.config.out / "artifacts.json"
    path.write_text(json.dumps({"artifacts": docs}, indent=1) + "\n")
    result.files["artifacts"] = path
    files = sum(len(a.files) for a in arts if a.id in family)
    return f"{len(arts)} packages; {len(family)} of the family and its programs, {files} ELF files"


def family_artifacts(dset: DebianSet, source: str) -> list[Artifact]:
    """The family's library packages and its programs' packages, every release."""
    out: dict[str, Artifact] = {}
    for rel, fam in sorted(dset.families.get(source, {}).items(), key=lambda kv: release_key(kv[0])):
        for name in [*fam.libraries, *(p for p, _ in fam.programs)]:
            a = dset.artifact(name, rel)
            if a is not None:
                out.setdefault(a.id, a)
    return list(out.values())


def _predict(result: RunResult, rep: Reporter, executor: Executor | None) -> str:
    from splicelab.predict.families import predict_families
    from splicelab.report.predictions import symbolator_document, write_predictions

    if result.dset is None:
        return "nothing fetched"
    c = result.config
    problems: list[str] = []
    result.predictions = predict_families(
        result.dset,
        c.predictors,
        modes=c.modes,
        sources=[c.source],
        executor=executor,
        total=lambda n: rep.total("predict", n),
        progress=lambda n: rep.advance("predict", n),
        errors=problems,
    )
    result.errors += [StageError("predict", p) for p in problems]
    result.entries = [p.to_dict() for p in result.predictions]
    out = c.out
    result.files["predictions"] = out / "predictions.json"
    write_predictions(result.entries, result.files["predictions"])
    result.files["symbolator"] = out / "symbolator-predictions.json"
    doc = symbolator_document([p.record for p in result.predictions])
    result.files["symbolator"].write_text(json.dumps(doc, indent=1) + "\n")
    _write_matrix(result.entries, c.predictors, out / "matrix.csv")
    result.files["matrix"] = out / "matrix.csv"
    for mode in c.modes:
        d = out / f"mode-{mode}"
        d.mkdir(exist_ok=True)
        write_predictions(result.entries_of(mode), d / "predictions.json")
        _write_matrix(result.entries_of(mode), c.predictors, d / "matrix.csv")
    first = c.predictors[0]
    verdicts = Counter(e["predictors"][first]["verdict"] for e in result.entries)
    return f"{len(result.entries)} splices; {first}: " + ", ".join(
        f"{verdicts[v]} {v}" for v in ("works", "breaks", "unknown") if verdicts[v]
    )


def _write_matrix(entries: Sequence[Mapping[str, Any]], predictors: Sequence[str], path: Path) -> None:
    from splicelab.report.predictions import write_matrix

    write_matrix(entries, "loader" if "loader" in predictors else predictors[0], path)


def _validate(result: RunResult, rep: Reporter, executor: Executor | None) -> str:
    from splicelab.validate import load_smoke, namespaces_available, validate
    from splicelab.validate.debian import debian_jobs

    c = result.config
    if not c.validate:
        return "skipped (--no-validate)"
    if result.dset is None:
        return "nothing fetched"
    smoke = load_smoke(c.smoke)
    jobs = list(debian_jobs(result.dset, c.modes, [c.source]))
    rep.total("validate", len(jobs))
    isolate = namespaces_available()
    if not isolate:
        result.notes.append(
            "validate: mount/user namespaces unavailable: splices ran without isolation (leaks are only "
            "detected, see each outcome's 'leaks')"
        )
    path = c.out / "outcomes.json"
    try:
        for o in validate(
            jobs, smoke=smoke, workers=c.jobs, timeout=c.timeout, isolate=isolate, executor=executor
        ):
            result.outcomes.append(o)
            rep.advance("validate", 1, f"{o.get('program_release')} with {o.get('library_release')}")
    finally:  # what was performed is kept, even when a later splice raised
        path.write_text(json.dumps(result.outcomes, indent=1) + "\n")
        result.files["outcomes"] = path
        for mode in c.modes:
            (c.out / f"mode-{mode}").mkdir(exist_ok=True)
            out = c.out / f"mode-{mode}" / "outcomes.json"
            out.write_text(json.dumps(result.outcomes_of(mode), indent=1) + "\n")
    result.validated = True
    classes = Counter(o["class"] for o in result.outcomes)
    return ", ".join(f"{n} {k}" for k, n in classes.most_common())


def _evaluate(result: RunResult, rep: Reporter, _executor: Executor | None) -> str:
    from splicelab.evaluate import evaluate

    c = result.config
    if not result.entries:
        return "no predictions"
    rep.total("evaluate", 1 + len(c.modes))
    result.evaluation = evaluate(result.entries, result.outcomes)
    result.files["evaluation"] = c.out / "evaluation.json"
    result.files["evaluation"].write_text(json.dumps(result.evaluation, indent=1) + "\n")
    rep.advance("evaluate")
    for mode in c.modes:
        ev = evaluate(result.entries_of(mode), result.outcomes_of(mode))
        result.by_mode[mode] = ev
        (c.out / f"mode-{mode}" / "evaluation.json").write_text(json.dumps(ev, indent=1) + "\n")
        rep.advance("evaluate")
    if not result.outcomes:
        return "no outcomes to judge against"
    return "; ".join(
        f"{n}: {e['correct']}/{e['total']} correct, {e['false_works']} false works, "
        f"{e['false_breaks']} false breaks"
        for n, e in result.evaluation.items()
    )


def _report(result: RunResult, rep: Reporter, _executor: Executor | None) -> str:
    from splicelab.report.heatmap import visualize
    from splicelab.report.html import write_report

    c = result.config
    if not c.report:
        return "skipped"
    if not result.entries:
        return "no predictions"
    rep.total("report", 2 * len(c.modes))
    drawn = 0
    for mode in c.modes:
        d = c.out / f"mode-{mode}"
        outcomes = d / "outcomes.json" if result.outcomes_of(mode) else None
        evaluation = d / "evaluation.json" if outcomes is not None and mode in result.by_mode else None
        for pkg in visualize(d / "predictions.json", d / "heatmaps", outcomes):
            drawn += sum(1 for f in pkg.files if f.suffix == ".png")
        rep.advance("report", 1, f"mode {mode} heatmaps")
        write_report(d / "predictions.json", d / "report.html", outcomes, evaluation)
        rep.advance("report", 1, f"mode {mode} report")
    primary = "C" if "C" in c.modes else c.modes[0]
    result.files["report"] = c.out / "report.html"
    shutil.copyfile(c.out / f"mode-{primary}" / "report.html", result.files["report"])
    result.files["heatmaps"] = c.out / f"mode-{primary}" / "heatmaps"
    return f"{drawn} heatmaps (PNG, PDF, SVG), {len(c.modes)} HTML reports"


def _store(result: RunResult, rep: Reporter, _executor: Executor | None) -> str:
    from splicelab.store import artifacts as artifact_store
    from splicelab.store import default_url, open_database
    from splicelab.store import outcomes as outcome_store
    from splicelab.store import predictions as prediction_store

    c = result.config
    if not c.store:
        return "skipped"
    if not result.entries and not result.outcomes:
        return "nothing to store"
    involved = {a.id: a for a in family_artifacts(result.dset, c.source)} if result.dset else {}
    rep.total("store", len(involved) + len(result.entries) + len(result.outcomes))
    artifacts = []
    for a in involved.values():
        try:
            artifacts.append(artifact_store.prepare(a.to_dict(), f"artifact {a.id}"))
        except artifact_store.ArtifactFormatError as exc:
            result.errors.append(StageError("store", str(exc)))
    predictions = []
    for i, e in enumerate(result.entries):
        try:
            predictions += prediction_store.rows(e, f"predictions[{i}]")
        except prediction_store.PredictionFormatError as exc:
            result.errors.append(StageError("store", str(exc)))
    outcomes = []
    for i, o in enumerate(result.outcomes):
        try:
            outcomes.append(outcome_store.row(o, f"outcomes[{i}]"))
        except outcome_store.OutcomeFormatError as exc:
            result.errors.append(StageError("store", str(exc)))
    db = open_database(c.db_url)
    try:

        def work(session: Any) -> dict[str, int]:
            return {
                "artifacts": len(artifact_store.store(session, artifacts)),
                "predictions": prediction_store.store(session, predictions),
                "outcomes": outcome_store.store(session, outcomes),
            }

        result.stored = db.write(work)
    finally:
        db.dispose()
    rep.advance("store", len(involved) + len(result.entries) + len(result.outcomes))
    where = c.db_url or default_url()
    return ", ".join(f"{n} {k}" for k, n in result.stored.items()) + f" → {where}"


# --- the summary ------------------------------------------------------------------------------------------


def _table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(str(x) for x in row) + " |" for row in rows]
    return lines


def score_rows(result: RunResult) -> list[list[Any]]:
    """Per predictor and mode (then both modes): judged, correct, false works, false breaks, unknown,
    run-time failures, unmatched, accuracy — the table of summary.md and of the terminal."""
    rows: list[list[Any]] = []
    scopes = [(m, result.by_mode.get(m, {})) for m in result.config.modes]
    if len(scopes) > 1:
        scopes.append(("both", result.evaluation))
    for name in result.config.predictors:
        for mode, ev in scopes:
            e = ev.get(name)
            if e is None:
                continue
            acc = "-" if e["accuracy"] is None else f"{e['accuracy']:.1%}"
            rows.append([name, mode, e["total"], e["correct"], e["false_works"], e["false_breaks"],
                         e["unknown"], e["runtime"], e["unmatched"], acc])  # fmt: skip
    return rows


SCORE_HEADER = ("predictor", "mode", "judged", "correct", "false works", "false breaks", "unknown",
                "run-time failures", "unmatched", "accuracy")  # fmt: skip


def summary_markdown(result: RunResult) -> str:
    """summary.md: the families, the splices and their classes, each predictor's score, the misses."""
    c = result.config
    modes = ", ".join(f"{m} ({MODE_NAMES[m]})" for m in c.modes)
    lines = [f"# splicelab run {c.source}", ""]
    lines.append(f"Debian source package **{c.source}**; releases {', '.join(c.releases)}; modes {modes}.")
    lines.append("")
    dset = result.dset
    fams = dset.families.get(c.source, {}) if dset is not None else {}
    if fams and dset is not None:
        lines += ["## Families", ""]
        rows = []
        for rel in sorted(fams, key=release_key):
            f = fams[rel]
            pkgs = dset.releases[rel].packages
            libs = ", ".join(f"{n} {pkgs[n]['version']}" for n in f.libraries if n in pkgs)
            progs = ", ".join(
                f"{p} {pkgs[p]['version'] if p in pkgs else '?'}: {path}" for p, path in f.programs
            )
            rows.append([rel, libs, progs or "-"])
        lines += [*_table(("release", "library packages", "program"), rows), ""]
    lines += ["## Splices", ""]
    per_mode = Counter(e.get("mode") for e in result.entries)
    lines.append(
        f"{len(result.entries)} splices predicted ("
        + ", ".join(f"{per_mode[m]} in mode {m}" for m in c.modes)
        + f") by {', '.join(c.predictors)}; "
        + (f"{len(result.outcomes)} performed." if result.validated else "none performed.")
    )
    lines.append("")
    if result.outcomes:
        classes = sorted({o["class"] for o in result.outcomes}, key=lambda k: (k != "ok", k))
        rows = [
            [m, *(sum(1 for o in result.outcomes_of(m) if o["class"] == k) for k in classes)] for m in c.modes
        ]
        lines += [*_table(("mode", *classes), rows), ""]
    if result.evaluation:
        lines += ["## Predictors against real outcomes", ""]
        lines += [*_table(SCORE_HEADER, score_rows(result)), ""]
        lines.append(
            "Judged: splices whose program either loaded and passed its smoke commands (`ok`) or was "
            "refused by the loader. Run-time failures (the program loaded, then refused, crashed or "
            "printed other output) are counted apart: no loader-level prediction can see them."
        )
        lines.append("")
        misses = [(n, m) for n, e in result.evaluation.items() for m in e["misses"]]
        runtime = [(n, m) for n, e in result.evaluation.items() for m in e["runtime_failures"]]
        for title, items in (("Misses", misses), ("Run-time failures", runtime)):
            if items:
                lines += [f"### {title}", ""]
                for n, m in items:
                    lines.append(
                        f"- {n}, mode {m.get('mode')}: {m['binary']} with {m['replacement']}: predicted "
                        f"{m['verdict']}, really `{m['class']}` {_short(m.get('message', ''))}"
                    )
                lines.append("")
    lines += ["## Files", ""]
    for key in ("report", "predictions", "outcomes", "evaluation", "matrix", "symbolator", "artifacts"):
        if key in result.files:
            lines.append(f"- {key}: `{_rel(result.files[key], c.out)}`")
    for mode in c.modes:
        d = c.out / f"mode-{mode}"
        if (d / "report.html").is_file():
            lines.append(
                f"- mode {mode}: `{_rel(d, c.out)}/` (report.html, heatmaps/, predictions, outcomes)"
            )
    lines.append("")
    if result.notes:
        lines += ["## Notes", "", *(f"- {n}" for n in result.notes), ""]
    if result.errors:
        lines += ["## Errors", "", *(f"- {e}" for e in result.errors), ""]
    times = ", ".join(f"{k} {v:.1f} s" for k, v in result.seconds.items())
    lines += [f"Time: {times}.", ""]
    return "\n".join(lines)


def _short(message: str, limit: int = 160) -> str:
    message = " ".join(str(message).split())
    if not message:
        return ""
    return "— " + (message if len(message) <= limit else message[: limit - 1] + "…")


def _rel(path: Path, base: Path) -> str:
    try:
        return str(path.relative_to(base))
    except ValueError:
        return str(path)
