"""What comparing a class's code found (``autograder.similarity``): the pairs
compared, the pairs shown side by side, what was not compared. Plain data, read
by the similarity report (``reports.similarity_html``) and its CSV.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Pair:
    """Two students' modules of one exercise, compared.

    Attributes
    ----------
    exercise, student_a, student_b : str
        What was compared (``student_a`` sorts first).
    a_to_b : float
        Share of A's code (stub discounted) also found in B's.
    b_to_a : float
        Share of B's code also found in A's.
    shared_tokens : int
        Characters of A's filtered text inside a shared window.
    """

    exercise: str
    student_a: str
    student_b: str
    a_to_b: float
    b_to_a: float
    shared_tokens: int

    @property
    def similarity(self) -> float:
        """The larger share: a short module copied into a long one is still a copy."""
        return max(self.a_to_b, self.b_to_a)


@dataclass(frozen=True)
class Shown:
    """A pair above the threshold with both texts and their shared regions.

    ``slices_a`` and ``slices_b`` are ndarrays of shape (2, M): start and end
    (exclusive) of each shared region in the raw text.
    """

    pair: Pair
    text_a: str
    text_b: str
    slices_a: np.ndarray
    slices_b: np.ndarray


@dataclass(frozen=True)
class ClassSimilarity:
    """Everything the report shows.

    Attributes
    ----------
    pairs : list of Pair
        Every pair compared, most similar first.
    shown : list of Shown
        The pairs at or above ``threshold``, in the same order, at most
        ``SHOWN_PER_EXERCISE`` per exercise.
    problems : list of (str, str)
        Student and why a module was not compared.
    threshold : float
    students : int
        Entries of the submissions folder.
    window : int
        Length of a fingerprinted window (``similarity.NOISE_TOKENS``), which the page states.
    """

    pairs: list[Pair]
    shown: list[Shown]
    problems: list[tuple[str, str]]
    threshold: float
    students: int
    window: int
