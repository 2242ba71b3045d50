"""The intake: what a student hands in, turned into the exercise modules to grade.

Accepted: a folder; a ``.zip`` (unpacked by ``zipfiles`` under its limits;
an archive holding one top folder is that folder); one or more ``.py``
modules and ``.ipynb`` notebooks. In a folder, each exercise's module is
``<id>.py`` at its top, else the file CS231n's layout names for it
(``cs231n``), else what the notebooks define for it (``notebooks``), in that
order. Only those modules are taken; every other file is listed as ignored.
A module equal to the one handed in keeps the submission's digest (and so
its seed) whatever the format it came in.
"""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from pathlib import Path

from autograder.submission import cs231n, notebooks
from autograder.submission.locate import MAX_MODULE_BYTES, Submission, locate
from autograder.submission.zipfiles import UnsafeArchive, extract_zip

CONTRACTS: dict[str, tuple[str, ...]] = {
    "knn": ("KNearestNeighbor", "cross_validate_k"),
    "svm": ("svm_loss_naive", "svm_loss_vectorized"),
    "softmax": ("softmax_loss_naive", "softmax_loss_vectorized", "softmax_loss"),
    "optim": ("sgd_momentum", "rmsprop", "adam"),
    "conv": (
        "conv_forward_naive",
        "conv_backward_naive",
        "max_pool_forward_naive",
        "max_pool_backward_naive",
    ),
    "mlp": ("NeuralNetwork",),
}
"""The functions and classes each exercise module must define (what a
notebook is searched for); a test keeps them equal to the stubs' names."""

FILE_SUFFIXES = (".py", ".ipynb")
SKIPPED_PARTS = frozenset({"__pycache__", ".ipynb_checkpoints", "__MACOSX", ".git"})
"""Folders never listed nor searched: caches, checkpoints and archive debris."""


class SubmissionRefused(Exception):
    """The submission cannot be graded at all (an unsafe archive, an unknown format)."""


def open_submission(paths: Sequence[Path], exercise_ids: list[str], work: Path) -> Submission:
    """Find the modules of ``exercise_ids`` in what was handed in.

    Parameters
    ----------
    paths : sequence of Path
        One folder, one ``.zip``, or ``.py`` and ``.ipynb`` files.
    exercise_ids : list of str
        The exercises to look for.
    work : Path
        An empty folder for unpacked and generated modules; must outlive grading.

    Raises
    ------
    SubmissionRefused
        With the reason, for an unsafe archive or an unsupported input.
    """
    paths = list(paths)
    single = paths[0] if len(paths) == 1 else None
    if single is not None and single.is_dir():
        return from_folder(single, exercise_ids, work)
    if single is not None and single.suffix.lower() == ".zip" and _regular(single):
        return _from_zip(single, exercise_ids, work)
    unusable = [p for p in paths if not (_regular(p) and p.suffix.lower() in FILE_SUFFIXES)]
    if unusable or not paths:
        raise SubmissionRefused(
            f"unsupported submission {', '.join(p.name for p in unusable)}: hand in a folder, "
            "a .zip, or .py modules and .ipynb notebooks"
        )
    if len({p.name for p in paths}) < len(paths):
        raise SubmissionRefused("two of the files handed in have the same name")
    folder = work / "files"
    folder.mkdir()
    for path in paths:
        shutil.copyfile(path, folder / path.name)
    return from_folder(folder, exercise_ids, work)


def from_folder(root: Path, exercise_ids: list[str], work: Path) -> Submission:
    """The modules of a folder: ``<id>.py``, else CS231n's layout, else notebooks."""
    modules = dict(locate(root, exercise_ids).modules)
    taken = set(modules.values())
    notes: list[str] = []
    for exercise in [e for e in exercise_ids if e not in modules]:
        source = cs231n.find_layout(root, exercise, CONTRACTS[exercise])
        if source is not None and source.stat().st_size <= MAX_MODULE_BYTES:
            text, replaced = cs231n.adapted(source.read_text(errors="replace"))
            modules[exercise] = _write(work / "cs231n", exercise, text)
            taken.add(source)
            shims = f"; replaced {', '.join(replaced)} (Python 2 shim)" if replaced else ""
            notes.append(f"{exercise}: taken from {source.relative_to(root)} (CS231n layout){shims}")
    missing = [e for e in exercise_ids if e not in modules]
    found = [p for p in _files(root) if p.suffix.lower() == ".ipynb"] if missing else []
    read = {path: notebooks.read_notebook(path) for path in found}
    for exercise in missing:
        feeding = {p: nb for p, nb in read.items() if notebooks.feeds(nb, exercise, CONTRACTS[exercise])}
        text = notebooks.module_source(list(feeding.values()), CONTRACTS[exercise])
        if text is not None:
            modules[exercise] = _write(work / "notebooks", exercise, text)
            taken |= set(feeding)
            names = ", ".join(str(p.relative_to(root)) for p in feeding)
            notes.append(f"{exercise}: its definitions taken from {names}")
    notes += [note for nb in read.values() for note in nb.notes]
    ignored = sorted(str(p.relative_to(root)) for p in _files(root) if p not in taken)
    return Submission(root=root, modules=modules, ignored=ignored, notes=notes)


def _from_zip(archive: Path, exercise_ids: list[str], work: Path) -> Submission:
    unpacked = work / "unpacked"
    unpacked.mkdir()
    try:
        skipped = extract_zip(archive, unpacked)
    except UnsafeArchive as error:
        raise SubmissionRefused(str(error)) from None
    entries = [p for p in unpacked.iterdir() if p.name not in SKIPPED_PARTS]
    tops = {p.name for p in entries} | {n.split("/")[0] for n in skipped if not n.startswith("__MACOSX/")}
    root = unpacked
    if len(tops) == 1 and len(entries) == 1 and entries[0].is_dir():  # the archive of a folder
        root = entries[0]
        skipped = [n.partition("/")[2] or n for n in skipped]
    found = from_folder(root, exercise_ids, work)
    return Submission(
        root=found.root,
        modules=found.modules,
        ignored=sorted(found.ignored + skipped),
        notes=found.notes,
    )


def _files(root: Path) -> list[Path]:
    """Regular files under ``root``, outside caches and checkpoints, in name order."""
    return sorted(
        p
        for p in root.rglob("*")
        if _regular(p) and not SKIPPED_PARTS.intersection(p.relative_to(root).parts)
    )


def _regular(path: Path) -> bool:
    return path.is_file() and not path.is_symlink()


def _write(folder: Path, exercise: str, text: str) -> Path:
    folder.mkdir(exist_ok=True)
    target = folder / f"{exercise}.py"
    target.write_text(text)
    return target
