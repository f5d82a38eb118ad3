"""Heatmaps of a splice grid as PDF, PNG and SVG files (matplotlib + seaborn).

Two pictures per predictor:

* the *verdict heatmap*: a seaborn clustermap of the predictor's matrix (1 works, 0 untested,
  -1 fails) with a diverging palette centred on 0, square cells and a labelled colour bar;
* the *agreement map*: each cell's verdict against the real outcome (right works, right breaks,
  false works, false breaks, no verdict, untested) in categorical colours with a legend, laid out in the
  same order as the verdict heatmap so the two can be compared cell by cell.

Large matrices stay readable: figure size grows with the matrix up to a cap, tick labels are thinned
to every k-th (or dropped, the axis titles still saying what and how many), grid lines disappear and
the cell mesh is rasterised inside the vector files. Clustering is skipped, with a note on the figure,
for an axis where it means nothing or would fail (fewer than 3 entries, all entries alike) or would
cost too much (more than :data:`CLUSTER_MAX` entries).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from splicelab.report.agreement import Agreement, agreement_matrix, counts
from splicelab.report.grid import FAILS, UNTESTED, WORKS, Grid

if TYPE_CHECKING:
    from matplotlib.figure import Figure

FORMATS = ("pdf", "png", "svg")

CLUSTER_MAX = 2000  # entries on one axis beyond which that axis is not clustered
CLUSTER_COST_MAX = 2e8  # and pairwise-distance work (n² x other axis) beyond which neither

MAX_SIDE_IN = 22.0  # the heatmap area never exceeds this many inches on a side
MAX_CELL_IN = 0.3  # nor a cell this size (small matrices)
LABEL_FONT_PT = 7.0
LABEL_PITCH_IN = LABEL_FONT_PT * 1.35 / 72  # room one tick label needs along its axis
LABEL_CHARS = 64  # labels longer than this are shortened in the middle
MAX_PIXELS = 6000  # cap of a PNG's longer side
RASTER_CELLS = 2500  # above this many cells the mesh is rasterised inside PDF/SVG
GRID_LINE_MIN_CELL_IN = 0.12  # draw white cell borders only when cells are at least this big

# Paul Tol's colour-blind-safe "bright" scheme for the agreement categories.
AGREEMENT_COLORS = {
    Agreement.RIGHT_WORKS: "#4477AA",
    Agreement.RIGHT_BREAKS: "#66CCEE",
    Agreement.FALSE_WORKS: "#EE6677",
    Agreement.FALSE_BREAKS: "#CCBB44",
    Agreement.UNDECIDED: "#AA3377",
    Agreement.UNTESTED: "#E8E8E8",
}
VERDICT_LABELS = {FAILS: "fails (\u22121)", UNTESTED: "untested / unknown (0)", WORKS: "works (1)"}


def verdict_colors() -> list[str]:
    """Three colours for -1, 0, 1 from a red-blue diverging palette centred on a light grey."""
    import seaborn as sns

    return list(sns.diverging_palette(15, 245, s=85, l=52, center="light", n=3).as_hex())


# --- layout ----------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Axis:
    """How one axis of the heatmap is drawn."""

    n: int
    label_step: int  # 0: no tick labels
    title: str

    @property
    def labelled(self) -> int:
        return 0 if self.label_step == 0 else math.ceil(self.n / self.label_step)


@dataclass(frozen=True, slots=True)
class Layout:
    cell_in: float  # side of one (square) cell, inches
    rows: Axis
    cols: Axis
    figsize: tuple[float, float]
    dpi: int
    rasterize: bool
    grid_lines: bool


def _label_step(n: int, cell_in: float) -> int:
    if n == 0:
        return 0
    step = max(1, math.ceil(LABEL_PITCH_IN / cell_in))
    return step if n / step >= 3 or step == 1 else 0


def layout_for(n_rows: int, n_cols: int, row_label_chars: int = 30, col_label_chars: int = 20) -> Layout:
    """Figure geometry for an n_rows x n_cols heatmap: cells square, size capped, labels thinned."""
    longest = max(n_rows, n_cols, 1)
    cell = min(MAX_CELL_IN, MAX_SIDE_IN / longest)
    rows = Axis(n_rows, _label_step(n_rows, cell), f"binary files ({n_rows})")
    cols = Axis(n_cols, _label_step(n_cols, cell), f"replacements ({n_cols})")
    char_in = LABEL_FONT_PT * 0.6 / 72
    label_w = (min(row_label_chars, LABEL_CHARS) * char_in if rows.label_step else 0) + 0.5
    label_h = (min(col_label_chars, LABEL_CHARS) * char_in if cols.label_step else 0) + 0.5
    dendro = 1.2
    width = n_cols * cell + label_w + dendro + 0.6
    height = n_rows * cell + label_h + dendro + 1.2  # + title lines
    width, height = max(width, 7.5), max(height, 5.5)
    dpi = int(min(150, MAX_PIXELS / max(width, height)))
    return Layout(
        cell_in=cell,
        rows=rows,
        cols=cols,
        figsize=(round(width, 2), round(height, 2)),
        dpi=max(dpi, 50),
        rasterize=n_rows * n_cols > RASTER_CELLS,
        grid_lines=cell >= GRID_LINE_MIN_CELL_IN,
    )


def _nth(k: int) -> str:
    suffix = "th" if 10 <= k % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(k % 10, "th")
    return f"{k}{suffix}"


def text_scale(fig: Figure) -> float:
    """Titles and legends grow with big figures so they stay readable when the picture is shrunk to fit."""
    return min(2.2, max(1.0, max(fig.get_figwidth(), fig.get_figheight()) / 14))


def shorten(label: str, limit: int = LABEL_CHARS) -> str:
    if len(label) <= limit:
        return label
    keep = limit - 1
    return label[: keep - keep // 2] + "…" + label[-(keep // 2) :]


# --- clustering ------------------------------------------------------------------------------------------


@dataclass(slots=True)
class Clustering:
    """Leaf orders (and linkages) for both axes, and why an axis was left unclustered."""

    row_order: list[int]
    col_order: list[int]
    row_linkage: Any = None
    col_linkage: Any = None
    notes: list[str] = field(default_factory=list)


def _axis_linkage(values: np.ndarray, what: str, other_n: int, notes: list[str]) -> Any:
    from scipy.cluster.hierarchy import linkage

    n = values.shape[0]
    if n < 3:
        notes.append(f"{what} not clustered: only {n}")
        return None
    if n > CLUSTER_MAX:
        notes.append(f"{what} not clustered: {n} > {CLUSTER_MAX}")
        return None
    if n * n * max(other_n, 1) > CLUSTER_COST_MAX:
        notes.append(f"{what} not clustered: matrix too large")
        return None
    if (values == values[0]).all():
        notes.append(f"{what} not clustered: all alike")
        return None
    return linkage(values, method="average", metric="hamming")


def cluster(values: np.ndarray) -> Clustering:
    """Hierarchical clustering (average linkage, Hamming distance) of rows and columns where it works."""
    from scipy.cluster.hierarchy import leaves_list

    n_rows, n_cols = values.shape
    notes: list[str] = []
    row_link = _axis_linkage(values, "rows", n_cols, notes) if n_cols else None
    col_link = _axis_linkage(values.T, "columns", n_rows, notes) if n_rows else None
    row_order = [int(x) for x in leaves_list(row_link)] if row_link is not None else list(range(n_rows))
    col_order = [int(x) for x in leaves_list(col_link)] if col_link is not None else list(range(n_cols))
    return Clustering(row_order, col_order, row_link, col_link, notes)


# --- drawing ---------------------------------------------------------------------------------------------


def _matplotlib() -> Any:
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    return plt


def _square_cells(fig: Figure, ax_heat: Any, ax_row: Any = None, ax_col: Any = None) -> None:
    """Make cells square and keep the dendrograms aligned with the shrunken heatmap."""
    ax_heat.set_aspect("equal", adjustable="box")
    ax_heat.apply_aspect()
    hp = ax_heat.get_position()
    if ax_row is not None:
        rp = ax_row.get_position()
        ax_row.set_position([hp.x0 - rp.width - 0.002, hp.y0, rp.width, hp.height])
    if ax_col is not None:
        cp = ax_col.get_position()
        ax_col.set_position([hp.x0, hp.y1 + 0.004, hp.width, cp.height])


def _set_ticks(ax: Any, labels: Sequence[str], order: Sequence[int], step: int, axis: str) -> None:
    """Label every ``step``-th entry along the drawn ``order`` (no ticks at all when ``step`` is 0)."""
    positions = list(range(0, len(order), step)) if step else []
    texts = [shorten(labels[order[p]]) for p in positions]
    centres = [p + 0.5 for p in positions]
    if axis == "x":
        ax.set_xticks(centres, texts, rotation=90)
    else:
        ax.set_yticks(centres, texts, rotation=0)


def _save(fig: Figure, stem: Path, dpi: int) -> list[Path]:
    """Write the figure in every format, cropped to its content (the bounding box computed once)."""
    import matplotlib

    stem.parent.mkdir(parents=True, exist_ok=True)
    out = []
    fig.set_layout_engine(None)  # the layout is final: no extra draw per format
    bbox = fig.get_tightbbox(fig.canvas.get_renderer()).padded(0.15)
    # text stays text in SVG (searchable, selectable)
    with matplotlib.rc_context({"svg.fonttype": "none"}):
        for fmt in FORMATS:
            path = stem.with_name(f"{stem.name}.{fmt}")
            extra = {"pil_kwargs": {"compress_level": 3}} if fmt == "png" else {}
            fig.savefig(path, format=fmt, dpi=dpi, bbox_inches=bbox, **extra)
            out.append(path)
    return out


def _empty_figure(title: str, message: str) -> Figure:
    plt = _matplotlib()
    fig = plt.figure(figsize=(6, 2.5))
    fig.text(0.5, 0.65, title, ha="center", va="center", fontsize=12, weight="bold")
    fig.text(0.5, 0.4, message, ha="center", va="center", fontsize=10, color="#555555")
    return fig


def render_verdict_heatmap(
    grid: Grid, predictor: str, stem: Path, title: str, clustering: Clustering | None = None
) -> tuple[list[Path], Clustering]:
    """Clustered heatmap of one predictor's verdicts → ``stem.pdf``, ``stem.png``, ``stem.svg``."""
    plt = _matplotlib()
    import seaborn as sns
    from matplotlib.colors import ListedColormap

    values = grid.values(predictor)
    n_rows, n_cols = values.shape
    if n_rows == 0 or n_cols == 0:
        fig = _empty_figure(title, "no predictions")
        try:
            return _save(fig, stem, 100), Clustering([], [])
        finally:
            plt.close(fig)
    clustering = clustering or cluster(values)
    rows, cols = grid.row_labels(), grid.col_labels()
    lay = layout_for(n_rows, n_cols, max(map(len, rows)), max(map(len, cols)))
    cmap = ListedColormap(verdict_colors())
    tally = {v: int(np.count_nonzero(values == v)) for v in (FAILS, UNTESTED, WORKS)}

    dendro_h = 1.0 / lay.figsize[1]
    dendro_w = 1.0 / lay.figsize[0]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tight_layout's notes about the colour-bar axes
        g = sns.clustermap(
            values.astype(float),
            row_linkage=clustering.row_linkage,
            col_linkage=clustering.col_linkage,
            row_cluster=clustering.row_linkage is not None,
            col_cluster=clustering.col_linkage is not None,
            cmap=cmap,
            center=0,
            vmin=-1.5,
            vmax=1.5,
            figsize=lay.figsize,
            dendrogram_ratio=(dendro_w, dendro_h),
            xticklabels=False,
            yticklabels=False,
            linewidths=0.4 if lay.grid_lines else 0,
            linecolor="white",
            rasterized=lay.rasterize,
            cbar_pos=None,
            tree_kws={"linewidths": 0.6, "colors": "#555555"},
        )
    fig = g.figure
    ax = g.ax_heatmap
    _set_ticks(ax, cols, clustering.col_order, lay.cols.label_step, "x")
    _set_ticks(ax, rows, clustering.row_order, lay.rows.label_step, "y")
    ax.tick_params(axis="both", labelsize=LABEL_FONT_PT, length=2 if lay.grid_lines else 0)
    ax.set_xlabel(lay.cols.title, fontsize=10)
    ax.set_ylabel(lay.rows.title, fontsize=10)
    if lay.rows.label_step > 1 or lay.cols.label_step > 1:
        ax.set_xlabel(
            lay.cols.title
            + (f", every {_nth(lay.cols.label_step)} labelled" if lay.cols.label_step > 1 else ""),
            fontsize=10,
        )
        ax.set_ylabel(
            lay.rows.title
            + (f", every {_nth(lay.rows.label_step)} labelled" if lay.rows.label_step > 1 else ""),
            fontsize=10,
        )
    _square_cells(
        fig,
        ax,
        g.ax_row_dendrogram if clustering.row_linkage is not None else None,
        g.ax_col_dendrogram if clustering.col_linkage is not None else None,
    )
    if clustering.row_linkage is None:
        g.ax_row_dendrogram.set_visible(False)
    if clustering.col_linkage is None:
        g.ax_col_dendrogram.set_visible(False)

    from matplotlib.patches import Patch

    colors = verdict_colors()
    handles = [
        Patch(facecolor=colors[k], edgecolor="#999999", label=f"{VERDICT_LABELS[v]}: {tally[v]}")
        for k, v in enumerate((FAILS, UNTESTED, WORKS))
    ][::-1]
    _title_and_legend(fig, title, clustering.notes, handles, "verdict")
    try:
        return _save(fig, stem, lay.dpi), clustering
    finally:
        plt.close(fig)


def _title_and_legend(fig: Figure, title: str, notes: list[str], handles: list[Any], what: str) -> None:
    """Title, notes and a horizontal legend above the plot (saved with a tight bounding box)."""
    k = text_scale(fig)
    for ax in fig.axes:
        ax.xaxis.label.set_fontsize(10 * k)
        ax.yaxis.label.set_fontsize(10 * k)
    top = max(a.get_position().y1 for a in fig.axes if a.get_visible())
    inch = 1 / fig.get_figheight()
    ncol = min(len(handles), max(1, int(fig.get_figwidth() / (2.0 * k))))
    legend_rows = math.ceil(len(handles) / ncol)
    legend = fig.legend(
        handles=handles,
        title=what,
        loc="lower left",
        bbox_to_anchor=(0.01, top + 0.08 * inch),
        ncol=ncol,
        fontsize=8.5 * k,
        title_fontsize=9 * k,
        alignment="left",
        frameon=False,
        handlelength=1.4,
        handleheight=1.1,
    )
    y = top + (0.45 + 0.2 * legend_rows) * k * inch
    if notes:
        fig.text(0.01, y, "; ".join(notes), fontsize=8.5 * k, color="#555555", va="bottom")
        y += 0.25 * k * inch
    fig.text(0.01, y, title, fontsize=12 * k, weight="bold", va="bottom")
    legend.set_in_layout(True)


def render_agreement_map(
    grid: Grid, predictor: str, stem: Path, title: str, clustering: Clustering | None = None
) -> list[Path]:
    """Prediction vs real outcome per cell → ``stem.pdf``, ``stem.png``, ``stem.svg``."""
    plt = _matplotlib()
    import seaborn as sns
    from matplotlib.colors import ListedColormap
    from matplotlib.patches import Patch

    codes = agreement_matrix(grid, predictor)
    n_rows, n_cols = codes.shape
    if n_rows == 0 or n_cols == 0:
        fig = _empty_figure(title, "no predictions")
        try:
            return _save(fig, stem, 100)
        finally:
            plt.close(fig)
    order = clustering or cluster(grid.values(predictor))
    codes_ordered = codes[np.ix_(order.row_order, order.col_order)]
    rows, cols = grid.row_labels(), grid.col_labels()
    lay = layout_for(n_rows, n_cols, max(map(len, rows)), max(map(len, cols)))
    cmap = ListedColormap([AGREEMENT_COLORS[a] for a in Agreement])
    tally = counts(codes)

    width, height = lay.figsize
    fig = plt.figure(figsize=(width, height))
    left_pad = 0.3 / width
    ax = fig.add_axes((left_pad, 0.5 / height, 1 - left_pad - 0.1, 1 - 1.9 / height))
    sns.heatmap(
        codes_ordered,
        ax=ax,
        cmap=cmap,
        vmin=-0.5,
        vmax=len(Agreement) - 0.5,
        cbar=False,
        square=True,
        xticklabels=False,
        yticklabels=False,
        linewidths=0.4 if lay.grid_lines else 0,
        linecolor="white",
        rasterized=lay.rasterize,
    )
    _set_ticks(ax, cols, order.col_order, lay.cols.label_step, "x")
    _set_ticks(ax, rows, order.row_order, lay.rows.label_step, "y")
    ax.tick_params(axis="both", labelsize=LABEL_FONT_PT, length=2 if lay.grid_lines else 0)
    ax.yaxis.set_ticks_position("right")
    ax.yaxis.set_label_position("right")
    ax.set_xlabel(lay.cols.title, fontsize=10)
    ax.set_ylabel(lay.rows.title, fontsize=10)
    ax.apply_aspect()
    handles = [
        Patch(facecolor=AGREEMENT_COLORS[a], edgecolor="#999999", label=f"{a.label}: {tally[a]}")
        for a in Agreement
    ]
    notes = ["same order as the verdict heatmap"] if (order.row_linkage is not None) else []
    _title_and_legend(fig, title, notes, handles, "prediction vs outcome")
    try:
        return _save(fig, stem, lay.dpi)
    finally:
        plt.close(fig)


# --- one run's pictures, per package ---------------------------------------------------------------------


def safe_name(name: str) -> str:
    """A file-system-safe version of a package or predictor name."""
    cleaned = "".join(ch if ch.isalnum() or ch in "._+-" else "_" for ch in name).strip(".")
    return cleaned or "_"


@dataclass(slots=True)
class PackageOutput:
    package: str
    directory: Path
    files: list[Path] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def visualize_package(
    grid: Grid,
    package: str,
    directory: Path,
    predictors: Sequence[str],
    document: Any,
    document_name: str,
    entries: Sequence[Mapping[str, Any]],
) -> PackageOutput:
    """Write one package's JSON copy, CSV matrices (``matrix.csv`` format), heatmaps and (with outcomes)
    agreement maps. ``document`` is the package's part of the input file, ``entries`` its splices."""
    import json

    from splicelab.report.predictions import write_matrix

    out = PackageOutput(package, directory)
    directory.mkdir(parents=True, exist_ok=True)
    copy = directory / document_name
    copy.write_text(json.dumps(document, separators=(",", ":")) + "\n")
    out.files.append(copy)
    base = safe_name(package)
    for predictor in predictors:
        stem = directory / f"{base}-{safe_name(predictor)}"
        csv_path = stem.with_name(stem.name + ".csv")
        write_matrix([_plain(e) for e in entries], predictor, csv_path)
        out.files.append(csv_path)
        n_rows, n_cols = grid.shape
        title = f"{package}: {predictor} predictions ({n_rows} binary files \u00d7 {n_cols} replacements)"
        files, clustering = render_verdict_heatmap(grid, predictor, stem, title)
        out.files += files
        out.notes += [f"{predictor}: {n}" for n in clustering.notes]
        if grid.has_outcomes:
            title = f"{package}: {predictor} predictions vs real outcomes"
            agreement_stem = stem.with_name(stem.name + "-agreement")
            out.files += render_agreement_map(grid, predictor, agreement_stem, title, clustering)
    return out


def _plain(entry: Mapping[str, Any]) -> Mapping[str, Any]:
    """An entry whose predictions are dicts (as in the file), for the matrix writer."""
    preds = entry["predictors"]
    if all(isinstance(p, Mapping) for p in preds.values()):
        return entry
    return {
        **entry,
        "predictors": {n: p if isinstance(p, Mapping) else p.to_dict() for n, p in preds.items()},
    }


def visualize(
    predictions: Path,
    out: Path,
    outcomes: Path | None = None,
    predictors: Sequence[str] = (),
) -> list[PackageOutput]:
    """``splicelab visualize``: every binary package's files under ``out/<package>/``."""
    from splicelab.report.grid import (
        ReportInputError,
        build_grid,
        read_outcomes,
        read_predictions,
        split_by_package,
    )

    data, entries = read_predictions(predictions)
    grid = build_grid(entries, read_outcomes(outcomes), where=str(predictions), outcomes_where=str(outcomes))
    unknown = [p for p in predictors if p not in grid.predictors]
    if unknown:
        have = ", ".join(grid.predictors) or "none"
        raise ReportInputError(f"{predictions}: no predictor named {', '.join(unknown)} (it has: {have})")
    parts = split_by_package(data, str(predictions))
    by_package: dict[str, list[Mapping[str, Any]]] = {}
    for e in entries:
        by_package.setdefault(str(e["binary"]["package"]), []).append(e)
    used: set[str] = set()
    results = []
    for package in grid.packages:
        sub = grid.subset(package)
        name = safe_name(package)
        while name in used:
            name += "_"
        used.add(name)
        chosen = [p for p in predictors] or sub.predictors
        results.append(
            visualize_package(
                sub, package, out / name, chosen, parts[package], predictions.name, by_package[package]
            )
        )
    return results
