"""Where batch grading runs: a ``concurrent.futures`` executor.

- ``jobs`` local worker processes (``ProcessPoolExecutor``), the default;
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

from collections.abc import Iterator
from concurrent.futures import Executor, ProcessPoolExecutor
from contextlib import contextmanager


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
        with ProcessPoolExecutor(max_workers=jobs) as pool:
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
