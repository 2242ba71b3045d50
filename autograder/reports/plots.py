"""Figures for the feedback: the MLP's training curve and confusion matrix,
gradient-check errors, and score histograms of a batch.

Rendered with matplotlib's Agg backend (no display needed) to PNG bytes, so
that a report can write them to files or embed them in HTML. matplotlib is
imported when the first figure is drawn (``pyplot``), not with this module:
it costs about half a second that a report without figures need not pay.
"""

from __future__ import annotations

import functools
import io
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from autograder.results import GradingResult

if TYPE_CHECKING:
    from matplotlib.figure import Figure

LOG_FLOOR = 1e-16
"""Smallest error drawn on the log axis: an exact gradient (error 0) is shown
at double precision's resolution instead of vanishing."""

HISTOGRAM_BINS = 10
"""Bins of a score histogram: tenths of the exercise's points."""


@functools.cache
def pyplot() -> Any:
    """``matplotlib.pyplot`` on the Agg backend, imported on first use."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def png(figure: Figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100, bbox_inches="tight")
    pyplot().close(figure)
    return buffer.getvalue()


def training_curve(epoch_losses: list[float], title: str = "training loss") -> bytes:
    """Mean training loss per epoch, as a PNG.

    The losses are the student's: a NaN or infinite epoch (None once read back
    from JSON) is left out of the curve, and said so in the title.
    """
    losses = np.asarray([np.nan if loss is None else loss for loss in epoch_losses], dtype=float)
    finite = np.isfinite(losses)
    if not finite.all():
        title += f" ({np.count_nonzero(~finite)} non-finite epochs not drawn)"
    figure, axes = pyplot().subplots(figsize=(5, 3.2))
    axes.plot(np.arange(1, len(losses) + 1), np.where(finite, losses, np.nan), marker="o")
    axes.set(xlabel="epoch", ylabel="mean cross-entropy", title=title)
    axes.grid(alpha=0.3)
    return png(figure)


def confusion_heatmap(confusion: list[list[int]], title: str = "confusion matrix") -> bytes:
    """Heat map of a 10 x 10 confusion matrix (rows: true label), each cell
    showing its count (so no colour bar: it cost 25 ms of the 160), as a PNG."""
    matrix = np.asarray(confusion)
    figure, axes = pyplot().subplots(figsize=(4.2, 4))
    axes.imshow(matrix, cmap="Blues")
    for (row, col), count in np.ndenumerate(matrix):
        colour = "white" if count > matrix.max() / 2 else "black"
        axes.text(col, row, str(count), ha="center", va="center", fontsize=7, color=colour)
    axes.set(xlabel="predicted", ylabel="true", title=title, xticks=range(10), yticks=range(10))
    return png(figure)


def gradient_errors(errors: dict[str, float], tolerance: float, title: str = "gradient checks") -> bytes:
    """Bar chart of each gradient check's largest relative error (log scale),
    with the tolerance drawn as a line, as a PNG."""
    from matplotlib.ticker import LogFormatter, NullLocator

    figure, axes = pyplot().subplots(figsize=(6, 0.45 * len(errors) + 1.2))
    values = np.maximum(np.asarray(list(errors.values()), dtype=float), LOG_FLOOR)
    colours = ["tab:green" if value <= tolerance else "tab:red" for value in values]
    axes.barh(range(len(errors)), values, color=colours)
    axes.axvline(tolerance, color="black", linestyle="--", linewidth=1, label=f"tolerance {tolerance:g}")
    axes.set(xscale="log", xlabel="max relative error", title=title)
    # "1e-06", not typeset powers of ten: parsing those took a quarter of the figure's time;
    # no minor ticks between the decades: laying them out took 35-50 ms of the 120 ms
    axes.xaxis.set_major_formatter(LogFormatter())
    axes.xaxis.set_minor_locator(NullLocator())
    axes.set_yticks(range(len(errors)), labels=list(errors), fontsize=8)
    axes.invert_yaxis()
    axes.legend(fontsize=8)
    return png(figure)


def score_histogram(scores: list[float], max_score: float, title: str) -> bytes:
    """Histogram of the scores of one exercise over a batch, as a PNG."""
    from matplotlib.ticker import MaxNLocator

    figure, axes = pyplot().subplots(figsize=(4, 2.6))
    bins = np.linspace(0, max_score or 1.0, HISTOGRAM_BINS + 1)
    axes.hist(scores, bins=bins, color="tab:blue", edgecolor="white")
    axes.set(xlabel="score", ylabel="submissions", title=title)
    axes.yaxis.set_major_locator(MaxNLocator(integer=True))  # whole students
    return png(figure)


def figures(result: GradingResult) -> dict[str, bytes]:
    """Every figure the result's measurements allow, by file name."""
    found: dict[str, bytes] = {}
    for exercise in result.exercises:
        for check in exercise.checks:
            stem = f"{exercise.exercise}-{check.visibility}"
            if "epoch_losses" in check.details:
                found[f"{stem}-training-loss.png"] = training_curve(check.details["epoch_losses"])
            if "confusion" in check.details:
                found[f"{stem}-confusion.png"] = confusion_heatmap(check.details["confusion"])
    return found


def save_figures(result: GradingResult, folder: Path) -> list[Path]:
    """Write every figure of ``result`` into ``folder``; return the paths."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, png in figures(result).items():
        (folder / name).write_bytes(png)
        written.append(folder / name)
    return written
