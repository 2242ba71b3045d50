"""Which submissions of a class share their code: every pair, per exercise.

Flow: each student's entry goes through the grading intake
(``submission.entries.gradable_entry`` then ``submission.formats.open_submission``), so a
zip, a notebook and the CS231n layout give the very module text that grading
would run; that text is read, never run. Each module is fingerprinted once
with copydetect (winnowing over pygments tokens, the MOSS method), with the
released stub of its exercise as boilerplate: k-grams the stub holds are
dropped, so the scaffolding every student shares (signatures, docstrings,
``dW = np.zeros(W.shape)``) counts for nothing. The pairs are then compared in
blocks on the batch's executor (a local pool or Dask) and the pairs above the
threshold are compared once more in this process for the highlighted regions.

Why renames, reformatting and reordering do not hide a copy: copydetect's
tokenizer (``copydetect.utils.filter_code``) replaces every variable,
attribute and function name by one letter (``V``, ``F``, ``O`` for classes)
and every string by ``S``, and drops comments and whitespace; fingerprints are
hashes of 25-character windows of that text, compared as sets, so their order
in the file does not matter (only the windows spanning the seam between two
moved functions are lost). Keywords, builtins, numbers and operators are kept.

The fingerprints' hashes are Python's ``hash`` of strings, which differs
between processes: every fingerprint, the stub's included, is computed in
this process and only compared (as plain integers) in the workers.
"""

from __future__ import annotations

import csv
import io
import tempfile
from collections.abc import Iterator, Sequence
from concurrent.futures import Executor, as_completed
from dataclasses import dataclass
from pathlib import Path

import numpy as np

try:
    from copydetect import CodeFingerprint, compare_files
except ModuleNotFoundError as missing:
    raise ModuleNotFoundError(
        'code similarity needs copydetect: pip install "dl-autograder[similarity]"', name="copydetect"
    ) from missing

from autograder.references import solutions_dir
from autograder.reports.files import write_atomic
from autograder.reports.similarity_html import CSV_NAME, PAGE_NAME, similarity_html
from autograder.results.similarity import ClassSimilarity, Pair, Shown
from autograder.submission.entries import UnsupportedSubmission, gradable_entry
from autograder.submission.formats import SubmissionRefused, open_submission

NOISE_TOKENS = 25
"""Length of a fingerprinted window, in characters of the filtered text (a
name is one character there): copydetect's default noise threshold. Shorter
windows match idioms every solution shares (``V=V.V(V,V=1)``)."""

WINDOW = 4
"""Winnowing window: one hash kept per 4 consecutive windows, so any match of
``NOISE_TOKENS + WINDOW - 1`` = 28 characters is still found (copydetect's
guarantee threshold) while about 40 % of the hashes are kept. A pair of
near-copies, whose cost is gathering the positions of the common hashes, is
compared 2.5 times faster than with every hash (window 1); on
tests/workflows/similarity_class the copies' similarities move by under 0.01."""

DEFAULT_THRESHOLD = 0.3
"""Pairs at or above this similarity are listed in the page. Measured on
tests/workflows/similarity_class (SVM, docs/similarity.md): independently written
correct modules share at most 0.07 with one another and 0 with the reference;
a renamed and reformatted copy scores 0.84, a reordered copy 1.0, a module
with one of its two functions copied 0.46 to 0.52 against each source. 0.3
sits far above independent work and still catches half a module copied."""

SHOWN_PER_EXERCISE = 50
"""Pairs drawn side by side per exercise (the most similar above the
threshold): each holds two whole modules, and an instructor reviews the top of
the ranking; the CSV lists every pair. Only these pairs are compared a second
time for their shared regions, so a class full of copies stays cheap."""

BLOCK = 64
"""Students per side of the block of pairs one task compares: 64 x 64 = 4,096
comparisons (a few seconds) for 128 fingerprints shipped to the worker
(about 3 MB), so shipping stays small against the work."""


@dataclass(frozen=True)
class Prints:
    """The fingerprints of one module, as copydetect's ``compare_files`` reads
    them (same attribute names), in plain Python integers so that they pickle
    small for a worker.

    Attributes
    ----------
    k : int
        Window length (``NOISE_TOKENS``).
    hashes : set of int
        Hashes of the windows kept, the stub's removed.
    hash_idx : dict of int to list of int
        Positions of each hash in ``filtered_code``.
    filtered_code : str
        The tokenized text (names ``V``/``F``/``O``, strings ``S``, no comments).
    token_coverage : int
        Characters of ``filtered_code`` covered by a kept window: the denominator
        of the similarity, so the stub's scaffolding counts on neither side.
    offsets : ndarray of shape (M, 2)
        copydetect's map from positions in ``filtered_code`` to the raw text.
    """

    k: int
    hashes: set[int]
    hash_idx: dict[int, list[int]]
    filtered_code: str
    token_coverage: int
    offsets: np.ndarray


def fingerprint(text: str, boilerplate: np.ndarray) -> Prints:
    """Fingerprints of a Python module's ``text``, without the ``boilerplate`` hashes."""
    found = CodeFingerprint("module.py", NOISE_TOKENS, WINDOW, boilerplate, fp=io.StringIO(text))
    return Prints(
        k=found.k,
        hashes={int(h) for h in found.hashes},
        hash_idx={int(h): [int(i) for i in where] for h, where in found.hash_idx.items()},
        filtered_code=found.filtered_code,
        token_coverage=int(found.token_coverage),
        offsets=found.offsets,
    )


def boilerplate_hashes(stub: str) -> np.ndarray:
    """Every window hash of the stub (copydetect computes boilerplate with window 1)."""
    found = CodeFingerprint("stub.py", NOISE_TOKENS, 1, fp=io.StringIO(stub))
    return np.unique(np.array(sorted(found.hashes), dtype=np.int64))


def released_stub(exercise: str) -> str | None:
    """The stub students were given: ``assignments/<id>.py`` of the checkout,
    else the build's stub of the installed reference; None when neither exists."""
    checkout = Path(__file__).resolve().parent.parent / "assignments" / f"{exercise}.py"
    if checkout.is_file():
        return checkout.read_text(encoding="utf-8")
    folder = solutions_dir()
    if folder is None or not (folder / f"{exercise}.py").is_file():
        return None
    from autograder.authoring.stubs import strip_solutions

    reference = folder / f"{exercise}.py"
    return strip_solutions(reference.read_text(encoding="utf-8"), str(reference))


def read_modules(entry: Path, exercises: Sequence[str]) -> tuple[dict[str, str], list[str]]:
    """The module text of each exercise in a student's entry, through the grading intake.

    Returns
    -------
    texts : dict of str to str
        Exercise id to module text, for the modules found and readable.
    problems : list of str
        Why an exercise's module is absent or unreadable (the whole entry's
        refusal when the intake refuses it).
    """
    with tempfile.TemporaryDirectory(prefix="autograder-similarity-") as work:
        try:
            submission = open_submission([gradable_entry(entry)], list(exercises), Path(work))
        except (UnsupportedSubmission, SubmissionRefused) as refused:
            return {}, [str(refused)]
        except Exception as error:  # whatever a hostile entry makes the intake raise
            return {}, [f"cannot read the submission: {type(error).__name__}: {error}"]
        texts: dict[str, str] = {}
        problems = [f"{e}: no module handed in" for e in exercises if e not in submission.modules]
        for exercise, path in submission.modules.items():
            try:
                texts[exercise] = path.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as error:
                problems.append(f"{exercise}: cannot read {path.name}: {error}")
    return texts, problems


def compare_block(
    rows: list[tuple[int, Prints]], columns: list[tuple[int, Prints]]
) -> list[tuple[int, int, float, float, int]]:
    """Compare every pair ``i < j`` of a block (runs in a worker).

    Returns
    -------
    list of (i, j, i_to_j, j_to_i, shared_tokens)
    """
    found = []
    for i, first in rows:
        for j, second in columns:
            if i < j:
                shared, (forward, backward), _ = compare_files(first, second)
                found.append((i, j, float(forward), float(backward), int(shared)))
    return found


def blocks(count: int, size: int) -> Iterator[tuple[range, range]]:
    """Square blocks of index pairs covering every ``i < j`` below ``count`` once."""
    starts = range(0, count, size)
    for row in starts:
        for column in starts:
            if column >= row:
                yield range(row, min(row + size, count)), range(column, min(column + size, count))


@dataclass(frozen=True)
class Corpus:
    """The modules of one exercise that were read and fingerprinted, index-aligned."""

    names: list[str]
    texts: list[str]
    prints: list[Prints]


def read_class(
    students: Sequence[tuple[str, Path]], exercises: Sequence[str]
) -> tuple[dict[str, list[tuple[str, str]]], list[tuple[str, str]]]:
    """Each exercise's (student, module text), and (student, why) for what was not read."""
    problems: list[tuple[str, str]] = []
    modules: dict[str, list[tuple[str, str]]] = {e: [] for e in exercises}
    for name, entry in students:
        texts, why = read_modules(entry, exercises)
        problems += [(name, line) for line in why]
        for exercise, text in texts.items():
            modules[exercise].append((name, text))
    return modules, problems


def fingerprint_exercise(
    exercise: str, modules: list[tuple[str, str]], problems: list[tuple[str, str]]
) -> Corpus:
    """Fingerprint each module of ``exercise`` once, its released stub discounted;
    a module the tokenizer fails on, or a missing stub, adds to ``problems``."""
    stub = released_stub(exercise)
    if stub is None:
        problems.append(("(all)", f"{exercise}: no released stub found; its scaffolding counts as shared"))
    boilerplate = boilerplate_hashes(stub or "")
    corpus = Corpus([], [], [])
    for name, text in modules:
        try:
            prints = fingerprint(text, boilerplate)
        except Exception as error:  # whatever a hostile text makes the tokenizer raise
            problems.append((name, f"{exercise}: cannot tokenize: {type(error).__name__}: {error}"))
            continue
        corpus.names.append(name)
        corpus.texts.append(text)
        corpus.prints.append(prints)
    return corpus


def compare_pairs(
    corpora: dict[str, Corpus], executor: Executor, problems: list[tuple[str, str]]
) -> list[Pair]:
    """Every pair of every corpus, compared in blocks on ``executor``; a block
    whose worker fails adds a line to ``problems``."""
    futures = {
        executor.submit(
            compare_block,
            [(i, corpus.prints[i]) for i in rows],
            [(j, corpus.prints[j]) for j in columns],
        ): (exercise, rows, columns)
        for exercise, corpus in corpora.items()
        for rows, columns in blocks(len(corpus.prints), BLOCK)
    }
    pairs: list[Pair] = []
    for future in as_completed(futures):
        exercise, rows, columns = futures[future]
        try:
            found = future.result()
        except Exception as error:  # a dead worker process or a lost Dask worker
            where = f"students {rows.start}-{rows.stop - 1} x {columns.start}-{columns.stop - 1}"
            problems.append(("(all)", f"{exercise}: {where} not compared: {type(error).__name__}: {error}"))
            continue
        names = corpora[exercise].names
        pairs += [Pair(exercise, names[i], names[j], *scores) for i, j, *scores in found]
    return sorted(pairs, key=pairs_order)


def compare_class(
    students: Sequence[tuple[str, Path]],
    exercises: Sequence[str],
    executor: Executor,
    threshold: float = DEFAULT_THRESHOLD,
) -> ClassSimilarity:
    """Compare every pair of students' modules, per exercise.

    Parameters
    ----------
    students : sequence of (str, Path)
        Name and entry of each student (as ``batch.plan`` names them).
    exercises : sequence of str
        Exercise ids to compare.
    executor : Executor
        Where the blocks of pairs are compared.
    threshold : float
        Pairs at or above it are listed, the most similar drawn side by side.
    """
    modules, problems = read_class(students, exercises)
    corpora = {e: fingerprint_exercise(e, modules[e], problems) for e in exercises}
    pairs = compare_pairs(corpora, executor, problems)
    shown = [
        _shown(pair, corpora[exercise])
        for exercise in exercises
        for pair in [p for p in pairs if p.exercise == exercise and p.similarity >= threshold][
            :SHOWN_PER_EXERCISE
        ]
    ]
    shown.sort(key=lambda s: pairs_order(s.pair))
    return ClassSimilarity(pairs, shown, problems, threshold, len(students), NOISE_TOKENS)


def pairs_order(pair: Pair) -> tuple[float, int, str, str, str]:
    """Most similar first; ties by shared tokens, then by names (a stable order)."""
    return (-pair.similarity, -pair.shared_tokens, pair.exercise, pair.student_a, pair.student_b)


def _shown(pair: Pair, corpus: Corpus) -> Shown:
    """Compare a flagged pair again, here, for the regions to highlight."""
    a, b = corpus.names.index(pair.student_a), corpus.names.index(pair.student_b)
    _, _, (slices_a, slices_b) = compare_files(corpus.prints[a], corpus.prints[b])
    return Shown(pair, corpus.texts[a], corpus.texts[b], slices_a, slices_b)


def similarity_csv(result: ClassSimilarity) -> str:
    """One row per pair, most similar first."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["exercise", "student_a", "student_b", "a_to_b", "b_to_a", "shared_tokens"])
    for p in result.pairs:
        writer.writerow(
            [p.exercise, p.student_a, p.student_b, f"{p.a_to_b:.4f}", f"{p.b_to_a:.4f}", p.shared_tokens]
        )
    return buffer.getvalue()


def write_similarity(
    students: Sequence[tuple[str, Path]],
    exercises: Sequence[str],
    out: Path,
    executor: Executor,
    threshold: float = DEFAULT_THRESHOLD,
) -> ClassSimilarity:
    """Compare the class and write ``OUT/similarity.csv`` and ``OUT/similarity.html``."""
    result = compare_class(students, exercises, executor, threshold)
    write_atomic(out / CSV_NAME, similarity_csv(result))
    write_atomic(out / PAGE_NAME, similarity_html(result))
    return result
