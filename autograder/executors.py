"""Where batch grading runs: a ``concurrent.futures`` executor.

- ``jobs`` local workers, the default: each submission is graded in a process
  of its own (``OneProcessPerJob``), whose memory is bounded
  (``GRADER_MEMORY_BYTES``); a process that dies (OOM, crash) fails only its
  own future, with ``WorkerDied``, and the batch records that submission as
  ``grader resources exceeded`` (see ``batch``);
- a Dask distributed cluster at ``scheduler`` (``tcp://host:8786``), through
  ``Client.get_executor()``, which has the same ``submit`` / future interface;
- a local Dask cluster of ``dask_workers`` single-threaded worker processes.

On a department cluster, start the scheduler and workers with dask-jobqueue
(``SLURMCluster``, ``PBSCluster``...) and pass the scheduler's address. Every
worker needs the grader installed (``pip install "dl-autograder[cluster]"``),
the datasets at the same ``--data-dir`` (or in ``$AUTOGRADER_DATA``) and the
submissions folder at the same path (a shared file system). Each exercise child
may take 2 GB of address space (``sandbox.limits.MEMORY_BYTES``), so give every
worker process 2.5 GB: ``--jobs N`` needs N x 2.5 GB of memory on one machine.

Dask is imported only when asked for: grading needs only NumPy and matplotlib.
"""

from __future__ import annotations

import multiprocessing
import resource
from collections.abc import Callable, Iterator
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from contextlib import contextmanager
from multiprocessing.connection import Connection
from typing import Any

from autograder.sandbox.runroot import remove_site

GRADER_MEMORY_BYTES = 6 * 1024**3
"""Data-segment limit (``RLIMIT_DATA``) of a process grading one submission:
it holds MNIST in float64 (0.4 GB), the reference MLP's training (0.5 GB),
one reply's results (``sandbox.limits.RESULT_MAX_BYTES``, 0.25 GB) and
NumPy/BLAS buffers; 6 GiB is three times that, and bounds a grader bug or a
submission that would make the grader allocate without end. Only the soft
limit is set: the sandboxed child sets its own, lower limits."""

START_METHOD = "forkserver"
"""How grading processes start: forked from a clean single-threaded server,
not from the batch's threads (forking a threaded process can inherit held locks)."""


PRELOAD = ("autograder.batch", "matplotlib.pyplot")
"""Modules the fork server imports once, before the first job: every grading
process forked from it starts with NumPy, the checks, the reports (all
imported by ``autograder.batch``, whose ``grade_job`` a job runs) and
matplotlib loaded, instead of importing them again for each submission. No
module of a submission is among them: they run in the sandbox's children."""


class WorkerDied(Exception):
    """The process grading one submission ended without an outcome."""


def bound_memory(limit: int = GRADER_MEMORY_BYTES) -> None:
    """Lower this process's soft ``RLIMIT_DATA`` to ``limit`` (never raise it)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_DATA)
    ceiling = min(value for value in (limit, soft, hard) if value != resource.RLIM_INFINITY)
    resource.setrlimit(resource.RLIMIT_DATA, (ceiling, hard))


def _grade_here(send: Connection, fn: Callable[..., Any], args: tuple[Any, ...], limit: int) -> None:
    """Body of a grading process: bound its memory, run ``fn``, send the outcome.
    The process ends by ``os._exit`` (``multiprocessing``), which runs no ``atexit``:
    the children's site directory is removed here."""
    bound_memory(limit)
    try:
        outcome = (True, fn(*args))
    except BaseException as error:  # reported to the parent, which decides
        outcome = (False, error)
    finally:
        remove_site()
    send.send(outcome)
    send.close()


class OneProcessPerJob(Executor):
    """Run each submitted call in a fresh process, ``workers`` at a time.

    The processes are forked from a fork server that imported ``PRELOAD``
    once; each starts from the server's state, not from an earlier job's.

    A process that dies fails only its own future (``WorkerDied``); the
    others are unaffected, unlike a ``ProcessPoolExecutor``, which breaks whole.

    Parameters
    ----------
    workers : int
        Calls running at once.
    memory_limit : int
        ``RLIMIT_DATA`` of each process.
    """

    def __init__(self, workers: int, memory_limit: int = GRADER_MEMORY_BYTES) -> None:
        self._threads = ThreadPoolExecutor(max_workers=workers)
        self._context = multiprocessing.get_context(START_METHOD)
        self._context.set_forkserver_preload(list(PRELOAD))
        self._memory_limit = memory_limit

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future:
        if kwargs:
            raise TypeError("OneProcessPerJob passes positional arguments only")
        return self._threads.submit(self._run, fn, args)

    def _run(self, fn: Callable[..., Any], args: tuple[Any, ...]) -> Any:
        receive, send = self._context.Pipe(duplex=False)
        process = self._context.Process(target=_grade_here, args=(send, fn, args, self._memory_limit))
        process.start()
        send.close()
        try:
            ok, value = receive.recv()
        except EOFError:
            process.join()
            raise WorkerDied(f"the grading process ended with exit code {process.exitcode}") from None
        finally:
            receive.close()
        process.join()
        if not ok:
            raise value
        return value

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        self._threads.shutdown(wait=wait, cancel_futures=cancel_futures)


@contextmanager
def make_executor(
    jobs: int = 1, scheduler: str | None = None, dask_workers: int | None = None
) -> Iterator[Executor]:
    """An executor for batch grading, shut down on exit.

    Parameters
    ----------
    jobs : int
        Local worker processes when neither Dask option is given.
    scheduler : str or None
        Address of a running Dask scheduler.
    dask_workers : int or None
        Start a local Dask cluster of this many worker processes.
    """
    if scheduler is None and dask_workers is None:
        with OneProcessPerJob(jobs) as pool:
            yield pool
        return
    try:
        from distributed import Client, LocalCluster
    except ImportError as missing:
        raise RuntimeError(
            'a Dask cluster needs the distributed package: pip install "dl-autograder[cluster]"'
        ) from missing
    if scheduler is not None:
        with Client(scheduler) as client:
            yield client.get_executor(pure=False)
        return
    # One thread per worker: each task waits on sandboxed children and holds
    # one exercise's references in memory; a process per job is the unit.
    with (
        LocalCluster(
            n_workers=dask_workers, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        Client(cluster) as client,
    ):
        yield client.get_executor(pure=False)
