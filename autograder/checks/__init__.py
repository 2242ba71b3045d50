"""Exercises and their checks: one module per exercise, checks as data."""

from autograder.checks import conv, knn, mlp, optim, softmax, svm
from autograder.checks.base import Check, CheckFailed, Exercise
from autograder.checks.session import Session

EXERCISES: dict[str, Exercise] = {
    module.EXERCISE.id: module.EXERCISE for module in (knn, svm, softmax, optim, conv, mlp)
}
"""Every exercise, in the order they are graded and reported."""

__all__ = ["EXERCISES", "Check", "CheckFailed", "Exercise", "Session"]
