"""The class's similarity page: per exercise, a histogram of pairwise
similarity and the ranked pairs above the threshold, each with both modules
side by side and their shared regions highlighted.

Self-contained like the feedback pages (inline CSS, embedded PNG, no script).
Student text (names, code, reasons) is escaped as in every report
(``html.escape``, through ``safe.clean``): controls and bidirectional marks are
shown as their escape (``\\x1b``, ``\\u202e``), so that none of them can break
or reorder the page.
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np

from autograder.checks import EXERCISES
from autograder.reports.html import escape, image, page
from autograder.results.similarity import ClassSimilarity, Pair, Shown

PAGE_NAME = "similarity.html"
"""The page's file name in a class's output folder; a batch's summary links to it when present."""

CSV_NAME = "similarity.csv"
"""Every pair compared, beside the page, which names it (``similarity.similarity_csv``)."""

HISTOGRAM_BINS = 20
"""Bins of the similarity histogram: steps of 0.05."""

STYLE = """
.pair { display: grid; grid-template-columns: 1fr 1fr; gap: .5em; }
.pair pre { font-size: .75em; background: #fafafa; border: 1px solid #ddd; padding: .5em;
  overflow-x: auto; white-space: pre; margin: 0; }
mark { background: #fde68a; }
"""


def highlighted(text: str, slices: np.ndarray) -> str:
    """``text`` as HTML with each ``[start, end)`` of ``slices`` (shape (2, M)) in ``<mark>``."""
    parts, done = [], 0
    for start, end in np.asarray(slices, dtype=int).reshape(2, -1).T:
        start, end = max(start, done), min(end, len(text))
        if end > start:
            parts += [escape(text[done:start]), f"<mark>{escape(text[start:end])}</mark>"]
            done = end
    return "".join([*parts, escape(text[done:])])


def histogram(similarities: list[float], threshold: float, title: str) -> bytes:
    """Histogram of pairwise similarity (log count axis: the copies are the few
    pairs at the right of a mass near zero), the threshold drawn, as a PNG."""
    from autograder.reports import plots

    figure, axes = plots.pyplot().subplots(figsize=(5, 2.8))
    axes.hist(similarities, bins=np.linspace(0, 1, HISTOGRAM_BINS + 1), color="tab:blue", edgecolor="white")
    axes.axvline(threshold, color="tab:red", linestyle="--", linewidth=1, label=f"threshold {threshold:g}")
    axes.set(xlabel="similarity (larger share)", ylabel="pairs", yscale="log", title=title)
    axes.legend(fontsize=8)
    return plots.png(figure)


def similarity_html(result: ClassSimilarity) -> str:
    """The page of ``result``."""
    by_exercise: dict[str, list[Pair]] = defaultdict(list)
    for pair in result.pairs:
        by_exercise[pair.exercise].append(pair)
    shown: dict[str, list[Shown]] = defaultdict(list)
    for item in result.shown:
        shown[item.pair.exercise].append(item)
    body = [
        f"<style>{STYLE}</style>",
        f"<h1>Code similarity: {result.students} submissions</h1>",
        f'<p class="meta">copydetect winnowing over pygments tokens (names and strings replaced by one '
        f"token, comments and layout dropped), windows of {result.window} tokens, the released stub "
        f"discounted. Similarity A&rarr;B is the share of A's code also in B; pairs at or above "
        f"{result.threshold:g} (larger share) are shown, the most similar side by side; "
        f"{CSV_NAME} lists every pair.</p>",
    ]
    for exercise in sorted(by_exercise, key=list(EXERCISES).index):
        pairs = by_exercise[exercise]
        body += _exercise(exercise, pairs, shown[exercise], result.threshold)
    body += _problems(result.problems)
    return page("Code similarity", body)


def _exercise(exercise: str, pairs: list[Pair], shown: list[Shown], threshold: float) -> list[str]:
    figure = image(
        histogram([p.similarity for p in pairs], threshold, exercise),
        f"{exercise}: similarity of {len(pairs)} pairs",
    )
    rows = "".join(
        f'<tr><td><a href="#{exercise}-{rank}">{rank}</a></td><td>{escape(s.pair.student_a)}</td>'
        f"<td>{escape(s.pair.student_b)}</td><td>{s.pair.a_to_b:.2f}</td><td>{s.pair.b_to_a:.2f}</td>"
        f"<td>{s.pair.shared_tokens}</td></tr>"
        for rank, s in enumerate(shown, 1)
    )
    header = "<tr><th>#</th><th>A</th><th>B</th><th>A&rarr;B</th><th>B&rarr;A</th><th>shared tokens</th></tr>"
    table = f"<table>{header}{rows}</table>" if shown else f"<p>No pair at or above {threshold:g}.</p>"
    more = sum(p.similarity >= threshold for p in pairs) - len(shown)
    note = [f"<p>{more} more pairs at or above the threshold: see {CSV_NAME}.</p>"] if more else []
    return [f"<h2>{escape(exercise)}</h2>", figure, table, *note] + [
        _side_by_side(exercise, rank, s) for rank, s in enumerate(shown, 1)
    ]


def _side_by_side(exercise: str, rank: int, shown: Shown) -> str:
    pair = shown.pair
    return (
        f'<h3 id="{exercise}-{rank}">{rank}. {escape(pair.student_a)} &harr; {escape(pair.student_b)}: '
        f"{pair.a_to_b:.2f} / {pair.b_to_a:.2f}</h3>"
        f'<div class="pair"><pre>{highlighted(shown.text_a, shown.slices_a)}</pre>'
        f"<pre>{highlighted(shown.text_b, shown.slices_b)}</pre></div>"
    )


def _problems(problems: list[tuple[str, str]]) -> list[str]:
    if not problems:
        return []
    rows = "".join(f"<tr><td>{escape(student)}</td><td>{escape(why)}</td></tr>" for student, why in problems)
    return ["<h2>Not compared</h2>", f"<table><tr><th>student</th><th>why</th></tr>{rows}</table>"]
