"""The HTML feedback page: what it shows, what it hides, and that a real
headless browser renders it without console errors."""

from __future__ import annotations

import base64
import io
import re
import shutil
import subprocess
from html import escape
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from autograder.cli import main
from autograder.environment import environment
from autograder.reports.html import to_html
from autograder.results import CheckResult, ExerciseResult, GradingResult, Status
from tests.conftest import grade_files, reference_source

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--enable-logging=stderr",
    "--v=0",
    "--window-size=1200,1800",
)
CONSOLE = re.compile(r":CONSOLE[:(]")  # how chromium's stderr log prefixes a page's console message
LOSS_OFF_BY_ONE = """

_reference_vectorized = svm_loss_vectorized


def svm_loss_vectorized(W, X, y, reg):
    loss, dW = _reference_vectorized(W, X, y, reg)
    return loss + 1.0, dW
"""


def svm_with_a_bug(tmp_path: Path) -> GradingResult:
    """A real test-mode result with visible and hidden failures."""
    bugged = reference_source("svm") + LOSS_OFF_BY_ONE
    return grade_files(tmp_path / "sub", {"svm.py": bugged}, mode="test", only=("svm",), seed=5)


def with_mlp_measurements(result: GradingResult) -> GradingResult:
    """``result`` plus an MLP exercise carrying the measurements the MLP checks record."""
    rng = np.random.default_rng(0)
    confusion = (np.eye(10, dtype=int) * 90 + rng.integers(0, 4, (10, 10))).tolist()
    checks = [
        CheckResult("accuracy", "mlp", 4, 4, Status.PASSED, "visible",
                    details={"epoch_losses": [2.1, 0.9, 0.5, 0.4], "confusion": confusion}),
        *(
            CheckResult(f"update of {name}", "mlp", 2, 2, Status.PASSED, "visible",
                        details={"max_relative_error": error})
            for name, error in (("W1", 3e-8), ("b1", 0.0), ("W2", 2e-4))
        ),
        CheckResult("hidden accuracy", "mlp", 4, 0, Status.FAILED, "hidden", message="inputs SECRET-INPUT-41",
                    hint="train longer", details={"inputs": "SECRET-DETAIL-42"}),
    ]  # fmt: skip
    mlp = ExerciseResult(
        "mlp", "Two-layer MLP", "graded", checks, seconds=42.0, peak_memory_bytes=600 * 2**20
    )
    return GradingResult([*result.exercises, mlp], result.mode, result.seed, result.environment, 1.0)


def embedded_images(page: str) -> list[Image.Image]:
    return [
        Image.open(io.BytesIO(base64.b64decode(data)))
        for data in re.findall(r'src="data:image/png;base64,([^"]+)"', page)
    ]


def test_hidden_checks_show_name_verdict_and_hint_but_never_message_or_details(tmp_path):
    result = with_mlp_measurements(svm_with_a_bug(tmp_path))
    page = to_html(result, "Feedback")
    checks = [c for e in result.exercises for c in e.checks]
    hidden_failed = [c for c in checks if c.visibility == "hidden" and c.status is not Status.PASSED]
    visible_failed = [c for c in checks if c.visibility == "visible" and c.status is not Status.PASSED]
    assert hidden_failed and visible_failed
    for check in hidden_failed:
        assert escape(check.name) in page and escape(check.hint) in page
        assert check.message and escape(check.message) not in page
    for check in visible_failed:
        assert escape(check.message) in page
    assert "SECRET" not in page


def test_page_records_provenance_limits_and_embeds_every_figure(tmp_path):
    result = with_mlp_measurements(svm_with_a_bug(tmp_path))
    page = to_html(result, "Feedback")
    env = environment()
    for value in (f"seed {result.seed}", "mode test", env["grader_version"], env["numpy"], env["blas"]):
        assert value in page
    assert "42.0 s of 300 s" in page and "600 MiB of 2048 MiB" in page
    # svm gradient checks, then the MLP's training curve, confusion matrix and gradient errors
    images = embedded_images(page)
    assert len(images) == 4
    assert all(image.format == "PNG" and image.width > 200 for image in images)
    assert "<script" not in page and external_references(page) == []


REMOTE = re.compile(
    r"""(?ix)
    \b(?:https?|ftp):// [^\s"'<>)]*            # an absolute URL anywhere: text, attribute, CSS
    | (?:src|href|action|poster|data|srcset)\s*=\s*["']?\s*//   # a protocol-relative one in an attribute
    | url\(\s*["']?\s*//                        # ... or in CSS
    | @import                                    # a stylesheet fetched from elsewhere
    """
)


def external_references(page: str) -> list[str]:
    """Everything in the whole of ``page`` that would make a browser (or a reader
    following it) fetch from another host: the page must stand alone, offline."""
    return REMOTE.findall(page)


@pytest.mark.parametrize(
    "planted",
    [
        '<a href="https://example.org/help">help</a>',
        '<img src="//cdn.example.org/logo.png">',
        "<style>body { background: url('//example.org/bg.png') }</style>",
        '<link rel="stylesheet" href="http://example.org/a.css">',
        "<style>@import 'theme.css';</style>",
        "see http://example.org in the text",
    ],
)
def test_external_references_are_found_anywhere_in_the_page(planted):
    page = to_html(GradingResult([], "dev", 0, environment(), 0.0), "Feedback")
    assert external_references(page) == []
    for where in ("<head>", "<body>", "</body>"):
        assert external_references(page.replace(where, where + planted, 1)), (where, planted)


def test_grade_html_option_writes_the_page(tmp_path):
    out = tmp_path / "feedback.html"
    assert main(["grade", reference_dir(tmp_path), "--only", "svm", "--html", str(out)]) == 0
    assert "svm_loss_vectorized" in out.read_text() and len(embedded_images(out.read_text())) == 1


def reference_dir(tmp_path: Path) -> str:
    folder = tmp_path / "ref"
    folder.mkdir()
    (folder / "svm.py").write_text(reference_source("svm"))
    return str(folder)


def render(page: Path, tmp_path: Path) -> tuple[Image.Image, list[str]]:
    """Screenshot of ``page`` in headless chromium, and the console messages it logged."""
    shot = tmp_path / "shot.png"
    completed = subprocess.run(
        [CHROMIUM, *CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'profile'}", f"--screenshot={shot}",
         page.as_uri()],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert shot.is_file(), completed.stderr[-2000:]
    return Image.open(shot).convert("RGB"), [
        line for line in completed.stderr.splitlines() if CONSOLE.search(line)
    ]


def non_white_fraction(image: Image.Image) -> float:
    pixels = np.asarray(image)
    return float(np.mean(pixels.min(axis=2) < 200))


needs_chromium = pytest.mark.skipif(
    CHROMIUM is None, reason="no chromium on this machine (.ci/run installs it)"
)


@needs_chromium
def test_page_renders_in_headless_chromium_without_console_errors(tmp_path):
    page = tmp_path / "feedback.html"
    page.write_text(to_html(with_mlp_measurements(svm_with_a_bug(tmp_path)), "Feedback"))
    image, console = render(page, tmp_path)
    assert console == []
    assert non_white_fraction(image) > 0.02  # text, tables and figures, not a blank page


@needs_chromium
def test_the_browser_check_sees_console_errors_and_blank_pages(tmp_path):
    page = tmp_path / "broken.html"
    page.write_text(
        "<!DOCTYPE html><html><body><script>console.error('boom'); missing();</script></body></html>"
    )
    image, console = render(page, tmp_path)
    assert len(console) == 2 and "boom" in console[0]
    assert non_white_fraction(image) == 0
