"""A self-contained HTML feedback page per submission.

Inline CSS, figures embedded as base64 PNG, no script and no external
resource: the page opens the same from a mail attachment, an LMS or a disk.

The page renders ``visibility.student_view`` of the result: hidden checks show
their name, points, verdict and hint, never their message or measurements
(only those in ``visibility.HIDDEN_FIGURE_KEYS`` are drawn). Every text goes
through ``escape``, which also makes control characters and bidirectional
overrides visible (``safe.clean``).
"""

from __future__ import annotations

import base64
import html
from collections.abc import Iterable

from autograder.checks.gradcheck import RTOL
from autograder.reports import plots
from autograder.reports.safe import clean
from autograder.reports.text import headline, isolation_line
from autograder.reports.visibility import student_view
from autograder.results import CheckResult, ExerciseResult, GradingResult, Status
from autograder.results.causes import expected_modules, explained, nothing_submitted
from autograder.sandbox.limits import Limits

STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 62em; color: #222; }
h1 { font-size: 1.5em; } h2 { font-size: 1.2em; margin-top: 2em; }
table { border-collapse: collapse; width: 100%; margin: .5em 0; }
th, td { border-bottom: 1px solid #ddd; padding: .3em .5em; text-align: left; vertical-align: top; }
th { background: #f3f3f3; }
.passed { color: #1a7f37; } .failed { color: #b42318; } .hidden { color: #666; font-size: .85em; }
.message { font-family: ui-monospace, monospace; font-size: .85em; white-space: pre-wrap; }
.hint { font-style: italic; color: #444; }
.meter { background: #eee; width: 14em; height: .9em; display: inline-block; vertical-align: middle; }
.meter span { background: #3b82f6; height: 100%; display: block; }
.meta { color: #555; font-size: .85em; }
figure { display: inline-block; margin: .5em 1em .5em 0; }
"""


def page(title: str, body: Iterable[str]) -> str:
    """A complete HTML document with the shared inline style."""
    return (
        f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>{escape(title)}</title>'
        f"<style>{STYLE}</style></head><body>\n" + "\n".join(body) + "\n</body></html>\n"
    )


def escape(value: object) -> str:
    """``value`` as HTML text, unsafe characters escaped (``safe.clean``)."""
    return html.escape(clean(value), quote=True)


def image(png: bytes, caption: str) -> str:
    """A PNG embedded in the page, with its caption as alt text."""
    data = base64.b64encode(png).decode("ascii")
    return (
        f'<figure><img src="data:image/png;base64,{data}" alt="{escape(caption)}">'
        f"<figcaption>{escape(caption)}</figcaption></figure>"
    )


def to_html(result: GradingResult, title: str = "Feedback") -> str:
    """The feedback page of ``result``, as a student may see it."""
    result = student_view(result)
    body = [f"<h1>{escape(title)}: {result.score:g} / {result.max_score:g}</h1>", _provenance(result)]
    if nothing_submitted(result):
        return page(title, [*body, f'<p class="failed">{escape(expected_modules(result))}</p>'])
    limits = Limits.for_mode(result.mode)
    for exercise in result.exercises:
        body += _exercise(exercise, limits)
    return page(title, body)


def notice_html(title: str, message: str) -> str:
    """A page saying why a submission could not be graded at all."""
    return page(title, [f"<h1>{escape(title)}</h1>", f'<p class="failed">{escape(message)}</p>'])


def _provenance(result: GradingResult) -> str:
    env = result.environment
    return (
        f'<p class="meta">mode {escape(result.mode)} · seed {result.seed} · grader '
        f"{escape(env.get('grader_version'))} · NumPy {escape(env.get('numpy'))} · BLAS "
        f"{escape(env.get('blas'))} · {escape(isolation_line(env))} · "
        f"{result.execution_time:.1f} s</p>"
    )


def _exercise(exercise: ExerciseResult, limits: Limits) -> list[str]:
    causes = explained(exercise)
    rows = "".join(_check_row(check, check.name in causes) for check in exercise.checks)
    notes = "".join(f"<li>{escape(note)}</li>" for note in exercise.notes)
    stated = "".join(
        f'<div class="message">{escape(cause.text)}</div>'
        + (f'<div class="hint">hint: {escape(cause.hint)}</div>' if cause.hint else "")
        + f'<p class="meta">explains: {escape(" · ".join(cause.checks))}</p>'
        for cause in exercise.causes
    )
    return [
        f"<h2>{escape(exercise.exercise)}: {escape(exercise.title)} — "
        f"{exercise.score:g} / {exercise.max_score:g}</h2>",
        f"<p>verdict: {escape(headline(exercise))}</p>",
        stated,
        _resources(exercise, limits),
        "<table><tr><th>check</th><th>points</th><th>verdict</th><th>details</th></tr>" + rows + "</table>",
        f"<ul>{notes}</ul>" if notes else "",
        *_figures(exercise),
    ]


def _resources(exercise: ExerciseResult, limits: Limits) -> str:
    memory = exercise.peak_memory_bytes / 2**20
    return (
        f'<p class="meta">time {_meter(exercise.seconds, limits.wall_seconds)} '
        f"{exercise.seconds:.1f} s of {limits.wall_seconds:g} s · memory "
        f"{_meter(exercise.peak_memory_bytes, limits.memory_bytes)} {memory:.0f} MiB of "
        f"{limits.memory_bytes / 2**20:.0f} MiB</p>"
    )


def _meter(used: float, limit: float) -> str:
    percent = 100 * min(max(used / limit, 0.0), 1.0) if limit else 0.0
    return f'<span class="meter"><span style="width:{percent:.1f}%"></span></span>'


def _check_row(check: CheckResult, explained: bool = False) -> str:
    """One check; a check whose cause is stated above the table shows no text of its own
    (a failure with a named bug keeps its message, without the hint)."""
    passed = check.status is Status.PASSED
    said = passed or (explained and check.status is not Status.FAILED)
    verdict = f'<span class="{"passed" if passed else "failed"}">{escape(check.status.value)}</span>'
    if check.visibility != "visible":
        verdict += ' <span class="hidden">[hidden]</span>'
    text = []
    if not said and check.message:
        text.append(f'<div class="message">{escape(check.message)}</div>')
    if not said and check.hint and not explained:
        text.append(f'<div class="hint">hint: {escape(check.hint)}</div>')
    return (
        f"<tr><td>{escape(check.name)}</td><td>{check.score:g} / {check.max_score:g}</td>"
        f"<td>{verdict}</td><td>{''.join(text)}</td></tr>"
    )


def _figures(exercise: ExerciseResult) -> list[str]:
    found = []
    errors: dict[str, float] = {}
    for check in exercise.checks:
        tag = " (hidden check)" if check.visibility != "visible" else ""
        if "epoch_losses" in check.details:
            found.append(image(plots.training_curve(check.details["epoch_losses"]), f"training loss{tag}"))
        if "confusion" in check.details:
            found.append(image(plots.confusion_heatmap(check.details["confusion"]), f"confusion matrix{tag}"))
        if "max_relative_error" in check.details:
            errors[check.name + tag] = float(check.details["max_relative_error"])
    if errors:
        found.append(image(plots.gradient_errors(errors, RTOL), "gradient checks: largest relative error"))
    return found
