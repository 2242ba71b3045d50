"""Fixtures of the attack suite: the honest score and each attack's scene."""

from __future__ import annotations

import pytest

from tests.conftest import grade_files, reference_source
from tests.sandbox.attacks.support import Scene


@pytest.fixture(scope="session")
def honest(tmp_path_factory):
    """The reference svm.py graded in dev mode: what an honest submission earns."""
    folder = tmp_path_factory.mktemp("honest")
    return grade_files(folder, {"svm.py": reference_source("svm")}, only=("svm",))


@pytest.fixture
def scene(tmp_path) -> Scene:
    """The attacker's surroundings, checked after the attack."""
    return Scene.build(tmp_path)
