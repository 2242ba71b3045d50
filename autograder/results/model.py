"""Plain data describing the outcome of grading one submission.

Nothing here knows how results are printed; ``autograder.reports`` renders
them. A grader fault (a bug in this package) is a status of its own and is
never confused with a failed check.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class Status(StrEnum):
    """Verdict of one check. Only ``PASSED`` earns points."""

    PASSED = "passed"
    FAILED = "failed"
    INVALID_OUTPUT = "invalid output"
    NOT_ATTEMPTED = "not attempted"
    MISSING = "missing"
    IMPORT_FAILED = "import failed"
    BANNED_IMPORT = "banned import"
    ERROR = "raised an exception"
    TIMEOUT = "timeout"
    OUT_OF_MEMORY = "out of memory"
    CRASHED = "crashed"
    EXITED = "exited early"
    DATA_UNAVAILABLE = "not graded: dataset unavailable"
    GRADER_FAULT = "grader fault"
    GRADER_RESOURCES = "grader resources exceeded"


NOT_GRADED = frozenset({Status.GRADER_FAULT, Status.DATA_UNAVAILABLE})
"""Verdicts that say nothing about the student's work: the grading machine
failed (a bug of the grader, a dataset it lacks). The submission must be
graded again once the machine is fixed."""


@dataclass
class CheckResult:
    """Outcome of one check.

    Attributes
    ----------
    name : str
        The check's name, unique within its exercise.
    exercise : str
        Id of the exercise the check belongs to (``"svm"``).
    max_score : float
        Points the check is worth.
    score : float
        Points earned: ``max_score`` when passed, else 0.
    status : Status
        The verdict.
    visibility : str
        ``"visible"`` or ``"hidden"``.
    message : str
        What happened: subject, expected, got. Empty when passed.
    hint : str
        Where to look when the check fails.
    seconds : float
        Wall-clock seconds spent in the check, student calls included.
    details : dict
        Measurements for reports and plots (accuracy, losses, ratios...).
        Plain JSON-serialisable values only.
    id : str
        The check's stable id (``"svm/vectorized/dW/reg>0/hidden"``), its
        identity in reports whatever its display name.
    """

    name: str
    exercise: str
    max_score: float
    score: float
    status: Status
    visibility: str
    message: str = ""
    hint: str = ""
    seconds: float = 0.0
    details: dict[str, Any] = field(default_factory=dict)
    id: str = ""


@dataclass
class Cause:
    """One root cause explaining several checks of an exercise, stated once.

    Attributes
    ----------
    text : str
        What happened (``"svm.py is not in the submission"``); may hold
        several lines (a dataset's fix lists files and URLs).
    checks : list of str
        Names of the checks it explains.
    hint : str
        Where to look, or empty.
    """

    text: str
    checks: list[str]
    hint: str = ""


@dataclass
class ExerciseResult:
    """Outcome of one exercise: its checks and what the sandbox observed.

    Attributes
    ----------
    exercise : str
        Exercise id (``"knn"``).
    title : str
        Human title of the exercise.
    verdict : str
        One line: ``"graded"``, ``"not submitted"``, ``"import failed: ..."``,
        ``"timeout"``...
    checks : list of CheckResult
        Every declared check of the mode, run or not.
    seconds : float
        Wall-clock seconds spent waiting on the student's code.
    peak_memory_bytes : int
        Largest resident set of a child process that ran the exercise.
    notes : list of str
        Anything else the student or instructor should know (files ignored,
        non-breaking spaces...).
    datasets : dict
        Files of each dataset used: file name, sample count, SHA-256, and
        whether it is the official published file.
    causes : list of Cause
        Root causes shared by several checks (module missing, import failed,
        stubs, a named bug...), each stated once; reports show the checks
        they explain without repeating them.
    """

    exercise: str
    title: str
    verdict: str
    checks: list[CheckResult]
    seconds: float = 0.0
    peak_memory_bytes: int = 0
    notes: list[str] = field(default_factory=list)
    datasets: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    causes: list[Cause] = field(default_factory=list)

    @property
    def score(self) -> float:
        """Points earned in this exercise."""
        return sum(check.score for check in self.checks)

    @property
    def max_score(self) -> float:
        """Points available in this exercise."""
        return sum(check.max_score for check in self.checks)


@dataclass
class GradingResult:
    """Outcome of grading one submission.

    Attributes
    ----------
    exercises : list of ExerciseResult
        One per graded exercise, in the order they were declared.
    mode : str
        ``"dev"`` or ``"test"``.
    seed : int
        Seed of the hidden inputs; ``--seed`` with this value reproduces them.
    environment : dict
        Grader version, numpy and BLAS versions, isolation level.
    execution_time : float
        Wall-clock seconds of the whole grading run.
    phases : dict
        Seconds per phase of the run (``autograder.phases``).
    """

    exercises: list[ExerciseResult]
    mode: str
    seed: int
    environment: dict[str, Any]
    execution_time: float = 0.0
    phases: dict[str, float] = field(default_factory=dict)

    @property
    def score(self) -> float:
        """Points earned over all exercises."""
        return sum(exercise.score for exercise in self.exercises)

    @property
    def max_score(self) -> float:
        """Points available over all exercises."""
        return sum(exercise.max_score for exercise in self.exercises)

    @property
    def grader_fault(self) -> bool:
        """Whether the grading machine failed on any check (a bug of the grader or
        a dataset it lacks): the result is not the student's grade."""
        return any(check.status in NOT_GRADED for exercise in self.exercises for check in exercise.checks)
