"""Code similarity across a class: all pairs, as a ratio to fingerprinting alone.

A synthetic class of ``--students`` SVM modules (default 500, 124,750 pairs):
each student takes one of four independently written correct modules (the
reference and ``tests/workflows/similarity_class/independent_*.py``) and shuffles the
lines of one random block of a third of it, so a quarter of the pairs share
much of their code (comparison's slow path: many common hashes) and the rest
share little. Measured:

(a) the intake (``similarity.read_modules``: the grading intake, read only);
(b) fingerprinting alone (``similarity.fingerprint``, in this process, once
    per file), the unit of the ratios;
(c) every pair compared in this process (``compare_block`` on one block), then
    ``compare_class`` end to end on a local pool of 1 and 2 workers: pairs per
    second, and seconds per pair as a ratio to seconds per fingerprint.

Run from the repository root::

    python benchmarks/bench_similarity.py [--students 500] [--jobs 2]

About two minutes on two cores for 500 students (one exercise); a class's
six exercises take six times the comparison.
"""

from __future__ import annotations

import random
import tempfile
import time
from pathlib import Path

import _common

from autograder import similarity
from autograder.executors import make_executor

BASES = ("solutions/svm.py", *(f"tests/workflows/similarity_class/independent_{x}.py" for x in "abc"))
"""Four independently written correct SVM modules."""
SHUFFLED = 1 / 3
"""Share of a module's lines in the block a student shuffles."""
SERIAL_PAIRS = 2_000
"""Pairs compared in this process for (c)'s serial rate: a few seconds."""


def make_class(root: Path, students: int, seed: int = 0) -> list[tuple[str, Path]]:
    """Write ``students`` folders, each holding one ``svm.py``; returns (name, folder)."""
    rng = random.Random(seed)
    bases = [(_common.ROOT / path).read_text().splitlines() for path in BASES]
    found = []
    for number in range(students):
        lines = list(rng.choice(bases))
        size = int(len(lines) * SHUFFLED)
        start = rng.randrange(len(lines) - size)
        block = lines[start : start + size]
        rng.shuffle(block)
        lines[start : start + size] = block
        folder = root / f"student{number:04d}"
        folder.mkdir(parents=True)
        (folder / "svm.py").write_text("\n".join(lines) + "\n")
        found.append((folder.name, folder))
    return found


def timed(fn):
    """Seconds of one call of ``fn`` and its value."""
    began = time.perf_counter()
    value = fn()
    return time.perf_counter() - began, value


def main() -> None:
    parser = _common.argument_parser(__doc__)
    parser.add_argument("--students", type=int, default=500)
    parser.add_argument("--jobs", type=int, default=2, help="largest local pool timed")
    args = parser.parse_args()
    with _common.run("Code similarity: all pairs of a class"), tempfile.TemporaryDirectory() as scratch:
        students = make_class(Path(scratch), args.students)
        pairs = args.students * (args.students - 1) // 2
        intake, texts = timed(
            lambda: [similarity.read_modules(entry, ["svm"])[0]["svm"] for _, entry in students]
        )
        boilerplate = similarity.boilerplate_hashes(similarity.released_stub("svm"))
        printing, prints = timed(lambda: [similarity.fingerprint(text, boilerplate) for text in texts])
        per_print = printing / len(texts)
        indexed = list(enumerate(prints))
        side = int((2 * SERIAL_PAIRS) ** 0.5)
        serial, done = timed(lambda: similarity.compare_block(indexed[:side], indexed[:side]))
        per_pair = serial / len(done)
        rows: list[_common.Row] = [
            ("intake, per student", intake / len(texts), intake / printing, "intake / fingerprinting all"),
            ("fingerprint, per module", per_print, None, ""),
            (f"compare, per pair ({len(done)} pairs, this process)", per_pair, per_print / per_pair,
             "pairs per fingerprint's time"),
        ]  # fmt: skip
        for jobs in sorted({1, args.jobs}):
            with make_executor(jobs) as pool:
                seconds, result = timed(lambda pool=pool: similarity.compare_class(students, ["svm"], pool))
            assert len(result.pairs) == pairs
            rows.append(
                (f"compare_class end to end, {jobs} worker(s)", seconds, seconds / printing,
                 "end to end / fingerprinting all")
            )  # fmt: skip
            print(f"{jobs} worker(s): {pairs:,} pairs in {seconds:.1f} s ({pairs / seconds:,.0f} per second)")
        print(f"in this process: {1 / per_pair:,.0f} pairs, {1 / per_print:,.0f} fingerprints per second")
        _common.print_table(rows)


if __name__ == "__main__":
    main()
