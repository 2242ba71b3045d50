"""Resource limits of a sandboxed exercise run, each with the reason for it."""

from __future__ import annotations

from dataclasses import dataclass

DEV_SECONDS = 120.0
"""Wall-clock budget of one exercise in dev mode: a student's self-check must
answer within two minutes to be run after every edit."""

TEST_SECONDS = 300.0
"""Wall-clock budget of one exercise in test mode: hidden cases and the MLP's
full training run; six exercises stay within Gradescope's 40-minute ceiling."""

CPU_SLACK_SECONDS = 10.0
"""CPU seconds granted beyond the wall budget, so that the wall-clock kill
(which names the timeout) normally fires before the kernel's SIGXCPU."""

MEMORY_BYTES = 2 * 1024**3
"""Address space of the child: the MLP on 60,000 MNIST images needs about
0.5 GB in float64; 2 GB is what a course machine can give each student."""

FILE_BYTES = 512 * 1024**2
"""Largest file the child may write: the biggest legitimate output, a
500 x 5,000 float64 distance matrix, is 20 MB."""

MAX_PROCESSES = 64
"""Processes and threads the sandbox user may have at once (enforced when
the child runs as an unprivileged user): OpenBLAS and NumPy need a handful."""

BLAS_THREADS = 1
"""BLAS and OpenMP threads in the child: grading runs several children in
parallel, and one thread makes the kNN and SVM speed ratios reproducible."""

OUTPUT_KEEP_BYTES = 16 * 1024
"""Bytes of the student's stdout and stderr kept for the report; the rest is
read and discarded so that a print flood cannot exhaust the grader."""

REPLY_MAX_BYTES = 64 * 1024
"""Longest reply header the harness may send (a tree of 64 leaves and a
1 KB message take under 4 KB); longer means a forged reply."""

RESULT_MAX_BYTES = 256 * 1024**2
"""Hard cap on the result bytes of one call, whatever its inputs: the largest
legitimate result, a 500 x 5,000 float64 distance matrix, is 20 MB. The
grader holds at most this much per reply."""

RESULT_FLOOR_BYTES = 32 * 1024**2
"""Result bytes every call may return, whatever its inputs: a trained MLP's
weights (784 x 128 float64, 0.8 MB) or kNN distances to a training set kept
in the child (at most 500 x 5,000 float64, 20 MB)."""

RESULT_INPUT_FACTOR = 8
"""Result bytes allowed per byte of a call's array inputs, above the floor:
a convolution's output is at most a few times its input (more filters than
channels), its backward pass returns one gradient per input."""

RUN_DISK_BYTES = 1024**3
"""Size of the run's folder when it is a tmpfs: the largest request, the MLP's
training set in float64 with its batch order, is about 390 MB; results are
smaller. A run that writes more gets "no space left", and no disk fills up."""

CGROUP_EXTRA_BYTES = RUN_DISK_BYTES + 256 * 1024**2
"""Room of the run's memory cgroup above the address-space limit: the cgroup
also counts the tmpfs files the child writes and the page cache of what it
reads, and an allocation must fail with MemoryError (a named verdict) before
the kernel's OOM killer has to step in."""

MAX_LEAVES = 64
"""Most arrays one call may return (an optimizer config holds five)."""

START_SECONDS = 30.0
"""Time allowed for the child to start and import the student module."""


@dataclass(frozen=True)
class Limits:
    """Limits applied to one child process.

    Attributes
    ----------
    wall_seconds : float
        Budget of the whole exercise run, across all its children.
    memory_bytes : int
        Address-space limit (``RLIMIT_AS``).
    file_bytes : int
        Largest file the child may write (``RLIMIT_FSIZE``).
    processes : int
        ``RLIMIT_NPROC`` when the child runs as an unprivileged user.
    """

    wall_seconds: float
    memory_bytes: int = MEMORY_BYTES
    file_bytes: int = FILE_BYTES
    processes: int = MAX_PROCESSES

    @classmethod
    def for_mode(cls, mode: str) -> Limits:
        """Limits of one exercise in ``mode`` (``"dev"`` or ``"test"``)."""
        return cls(wall_seconds=DEV_SECONDS if mode == "dev" else TEST_SECONDS)
