"""Code similarity across a class: copies rank on top whatever their disguise,
independent work stays under the threshold, the stub counts for nothing, bad
entries get a line, student code is never run, and the page renders."""

from __future__ import annotations

import csv
import io
import itertools
import zipfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import nbformat
import pytest
from copydetect import CodeFingerprint, compare_files

from autograder import similarity
from autograder.cli import main
from autograder.executors import make_executor
from autograder.reports.similarity_html import highlighted, similarity_html
from autograder.similarity import DEFAULT_THRESHOLD, blocks, compare_class, released_stub
from tests.conftest import ASSIGNMENTS, reference_source
from tests.reports.test_html_feedback import needs_chromium, non_white_fraction, render

CLASS = Path(__file__).with_name("similarity_class")
COPIES = {"reference", "renamed", "reordered", "zipped", "layout", "notebook"}
"""Students whose SVM module is the reference, disguised or handed in another format."""
INDEPENDENT = {"independent_a", "independent_b", "independent_c"}
"""Correct SVM modules written independently, each in its own way."""
SPLICED = "spliced"
"""The reference's naive function with independent_a's vectorized one: half copied from each."""


def write_module(folder: Path, text: str, name: str = "svm.py") -> None:
    (folder / name).parent.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(text)


def make_class(root: Path) -> Path:
    """The synthetic class: the reference (as a folder, a zip, CS231n's layout and a
    notebook), the stub, a renamed and reformatted copy, a reordered copy,
    three independent implementations and one spliced from two of them."""
    reference = reference_source("svm")
    write_module(root / "reference", reference)
    write_module(root / "stub", (ASSIGNMENTS / "svm.py").read_text())
    for source in CLASS.glob("*.py"):
        write_module(root / source.stem, source.read_text())
    with zipfile.ZipFile(root / "zipped.zip", "w") as archive:
        archive.writestr("zipped/svm.py", reference)
    write_module(root / "layout", reference, "cs231n/classifiers/linear_svm.py")
    other = (CLASS / "independent_a.py").read_text()
    naive = reference[reference.index("def svm_loss_naive") : reference.index("def svm_loss_vectorized")]
    spliced = (
        "import numpy as np\n\nDELTA = 1.0\n\n\n" + naive + other[other.index("def svm_loss_vectorized") :]
    )
    write_module(root / SPLICED, spliced)
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_markdown_cell("# SVM"), nbformat.v4.new_code_cell(reference)]
    (root / "notebook").mkdir()
    nbformat.write(notebook, root / "notebook" / "svm.ipynb")
    return root


def students_of(root: Path) -> list[tuple[str, Path]]:
    return [(p.name.removesuffix(".zip"), p) for p in sorted(root.iterdir())]


@pytest.fixture(scope="module")
def svm_class(tmp_path_factory):
    root = make_class(tmp_path_factory.mktemp("class"))
    with make_executor(2) as executor:
        return compare_class(students_of(root), ["svm"], executor)


def test_copies_rank_on_top_and_independent_work_stays_under_the_threshold(svm_class):
    by_pair = {frozenset((p.student_a, p.student_b)): p for p in svm_class.pairs}
    copied = {frozenset(pair) for pair in itertools.combinations(COPIES, 2)}
    half = {frozenset((SPLICED, other)) for other in COPIES | {"independent_a"}}
    assert len(by_pair) == 55 and copied < set(by_pair)  # 11 students, every pair once
    flagged = {
        frozenset((p.student_a, p.student_b)) for p in svm_class.pairs if p.similarity >= DEFAULT_THRESHOLD
    }
    assert flagged == copied | half, sorted(map(sorted, flagged ^ (copied | half)))
    assert {frozenset((s.pair.student_a, s.pair.student_b)) for s in svm_class.shown} == flagged
    ranked = [frozenset((p.student_a, p.student_b)) for p in svm_class.pairs]
    assert set(ranked[: len(copied)]) == copied
    for pair in svm_class.pairs:
        assert pair.similarity == max(pair.a_to_b, pair.b_to_a)
        if {pair.student_a, pair.student_b} & (INDEPENDENT | {"stub"}) and frozenset(
            (pair.student_a, pair.student_b)
        ) not in half:
            assert pair.similarity < DEFAULT_THRESHOLD / 2, pair
    assert [p.similarity for p in svm_class.pairs] == sorted(
        (p.similarity for p in svm_class.pairs), reverse=True
    )


def test_intake_gives_the_graded_module_whatever_the_format(svm_class):
    """A zip, CS231n's layout and a notebook of the reference match it entirely."""
    by_pair = {frozenset((p.student_a, p.student_b)): p for p in svm_class.pairs}
    for other in ("zipped", "layout", "notebook", "reordered"):
        pair = by_pair[frozenset(("reference", other))]
        assert pair.a_to_b == pair.b_to_a == 1.0, pair


def test_the_tokenizer_is_what_sees_through_renames(svm_class):
    """On the raw text (names kept, the stub still discounted) the renamed and
    reformatted copy would pass under the threshold."""

    def raw(text: str, window: int, boilerplate: object = None) -> CodeFingerprint:
        return CodeFingerprint(
            "svm.py", similarity.NOISE_TOKENS, window, boilerplate, False, fp=io.StringIO(text)
        )

    stub = sorted(raw((ASSIGNMENTS / "svm.py").read_text(), 1).hashes)  # boilerplate: every window
    _, shares, _ = compare_files(
        *(
            raw(text, similarity.WINDOW, stub)
            for text in ((CLASS / "renamed.py").read_text(), reference_source("svm"))
        )
    )
    assert max(shares) < DEFAULT_THRESHOLD
    tokenized = next(p for p in svm_class.pairs if {p.student_a, p.student_b} == {"reference", "renamed"})
    assert tokenized.similarity > 2 * DEFAULT_THRESHOLD


def test_the_stub_counts_for_nothing():
    """Without the stub as boilerplate, an untouched stub would be flagged as a copy of the reference."""
    stub = released_stub("svm")
    assert stub == (ASSIGNMENTS / "svm.py").read_text()
    nothing = similarity.boilerplate_hashes("")
    bare = [similarity.fingerprint(t, nothing) for t in (stub, reference_source("svm"))]
    assert compare_files(*bare)[1][0] > 2 * DEFAULT_THRESHOLD
    discounted = [
        similarity.fingerprint(t, similarity.boilerplate_hashes(stub))
        for t in (stub, reference_source("svm"))
    ]
    assert compare_files(*discounted)[0] == 0


@pytest.mark.parametrize("count", [0, 1, 5, 64, 130])
def test_blocks_cover_every_pair_once(count):
    pairs = [(i, j) for rows, columns in blocks(count, 64) for i in rows for j in columns if i < j]
    assert sorted(pairs) == list(itertools.combinations(range(count), 2))


def test_bad_entries_get_a_line_and_the_rest_is_compared(tmp_path):
    root = tmp_path / "class"
    write_module(root / "alice", reference_source("svm"))
    write_module(root / "bob", (CLASS / "renamed.py").read_text())
    (root / "latin1").mkdir()
    (root / "latin1" / "svm.py").write_bytes(b"# caf\xe9\nimport numpy as np\n")
    write_module(root / "nosvm", "x = 1\n", "notes.py")
    (root / "notes.txt").write_text("not a submission")
    with zipfile.ZipFile(root / "escape.zip", "w") as archive:
        archive.writestr("../svm.py", reference_source("svm"))
    with make_executor(1) as executor:
        result = compare_class(students_of(root), ["svm"], executor)
    problems = dict(result.problems)
    assert set(problems) == {"latin1", "nosvm", "notes.txt", "escape"}
    assert "cannot read svm.py" in problems["latin1"] and "no module handed in" in problems["nosvm"]
    assert "unsupported submission format" in problems["notes.txt"]
    assert "climbs out of the archive" in problems["escape"]
    assert [(p.student_a, p.student_b) for p in result.pairs] == [("alice", "bob")]
    assert "Not compared" in similarity_html(result)


def test_only_the_top_pairs_are_drawn_and_the_page_says_how_many_more(tmp_path, monkeypatch):
    monkeypatch.setattr(similarity, "SHOWN_PER_EXERCISE", 2)
    root = tmp_path / "class"
    for name in ("a", "b", "c", "d"):
        write_module(root / name, reference_source("svm"))
    with make_executor(1) as executor:
        result = compare_class(students_of(root), ["svm"], executor)
    assert [s.pair for s in result.shown] == result.pairs[:2] and len(result.pairs) == 6
    page = similarity_html(result)
    assert page.count('<div class="pair">') == 2 and "4 more pairs at or above the threshold" in page


def test_a_failing_tokenizer_or_worker_gives_a_line_not_a_crash(tmp_path, monkeypatch):
    root = tmp_path / "class"
    for name in ("a", "b", "c"):
        write_module(root / name, reference_source("svm") + f"# {name}\n")
    real = similarity.fingerprint

    def fragile(text, boilerplate):
        if text.endswith("# c\n"):
            raise RecursionError("lexer")
        return real(text, boilerplate)

    monkeypatch.setattr(similarity, "fingerprint", fragile)
    with ThreadPoolExecutor(1) as executor:
        result = compare_class(students_of(root), ["svm"], executor)
        assert result.problems == [("c", "svm: cannot tokenize: RecursionError: lexer")]
        assert [(p.student_a, p.student_b) for p in result.pairs] == [("a", "b")]
        monkeypatch.setattr(similarity, "compare_block", lambda rows, columns: 1 / 0)
        result = compare_class(students_of(root), ["svm"], executor)
    assert (
        result.pairs == []
        and "svm: students 0-1 x 0-1 not compared: ZeroDivisionError" in result.problems[1][1]
    )


def test_student_code_is_read_never_run(tmp_path):
    marker = tmp_path / "ran"
    module = f"open({str(marker)!r}, 'w').write('ran')\nraise SystemExit(7)\n"
    root = tmp_path / "class"
    for name in ("mallory", "trent"):
        write_module(root / name, reference_source("svm") + module)
    with make_executor(1) as executor:
        result = compare_class(students_of(root), ["svm"], executor)
    assert not marker.exists()
    assert result.pairs[0].similarity == 1.0


def test_highlight_escapes_student_text_and_control_characters():
    text = "a = '<script>alert(1)</script>'\x1b[31m\x00 & b\u202e"
    page = highlighted(text, [[4], [12]])
    assert "<script>" not in page and "</script>" not in page and "&lt;/script&gt;" in page
    assert not {"\x1b", "\x00", "\u202e"} & set(page)
    assert all(shown in page for shown in ("\\x1b", "\\x00", "\\u202e"))
    assert page.count("<mark>") == 1 and page.startswith("a = <mark>&#x27;&lt;scrip")


def test_cli_writes_csv_and_page_with_odd_names(tmp_path):
    root = tmp_path / "class"
    odd = "eve\x1b[31m<b>"
    write_module(root / "alice", reference_source("svm"))
    write_module(root / odd, (CLASS / "reordered.py").read_text())
    write_module(root / "carol", (CLASS / "independent_b.py").read_text())
    out = tmp_path / "out"
    assert main(["similarity", str(root), "--out", str(out), "--only", "svm", "--threshold", "0.5"]) == 0
    with (out / "similarity.csv").open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert list(rows[0]) == ["exercise", "student_a", "student_b", "a_to_b", "b_to_a", "shared_tokens"]
    assert len(rows) == 3 and {rows[0]["student_a"], rows[0]["student_b"]} == {"alice", odd}
    assert float(rows[0]["a_to_b"]) == 1.0 and int(rows[0]["shared_tokens"]) > 100
    page = (out / "similarity.html").read_text()
    assert "eve\\x1b[31m&lt;b&gt;" in page and "\x1b" not in page and "<b>" not in page
    assert page.count("<mark>") >= 1 and "data:image/png;base64," in page and "<script" not in page
    assert main(["similarity", str(root), "--out", str(root / "out")]) == 2
    with pytest.raises(SystemExit) as usage:
        main(["similarity", str(root), "--out", str(out), "--threshold", "2"])
    assert usage.value.code == 2


def test_batch_similarity_writes_the_page_and_the_summary_links_it(tmp_path):
    root = tmp_path / "class"
    write_module(root / "alice", reference_source("svm"))
    write_module(root / "bob", (CLASS / "renamed.py").read_text())
    out = tmp_path / "out"
    assert (
        main(["batch", str(root), "--out", str(out), "--only", "svm", "--mode", "dev", "--similarity"]) == 0
    )
    assert (out / "similarity.csv").is_file()
    assert 'href="similarity.html"' in (out / "summary.html").read_text()


def test_a_dask_cluster_gives_the_local_pool_results(tmp_path, monkeypatch):
    """Workers of another hash seed only compare the integers computed here."""
    monkeypatch.setattr(similarity, "BLOCK", 3)
    students = students_of(make_class(tmp_path / "class"))
    with make_executor(1) as executor:
        local = compare_class(students, ["svm"], executor)
    with make_executor(dask_workers=2) as executor:
        dask = compare_class(students, ["svm"], executor)
    assert dask.pairs == local.pairs


@needs_chromium
def test_page_renders_in_headless_chromium_without_console_errors(svm_class, tmp_path):
    page = tmp_path / "similarity.html"
    page.write_text(similarity_html(svm_class))
    image, console = render(page, tmp_path)
    assert console == []
    assert non_white_fraction(image) > 0.02
