"""Keyed seeds: hidden inputs come from the course secret, the submission and
the check id; a student without the secret cannot predict them, mine them,
or recompute them from the seed shown in the report; ``--seed`` replays."""

from __future__ import annotations

import stat
import zipfile
from pathlib import Path

import numpy as np
import pytest

from autograder.authoring.gradescope_bundle import build_bundle
from autograder.checks import EXERCISES
from autograder.checks.base import public_generator
from autograder.grading import DEV_SEED, Options, grade
from autograder.results import result_to_dict
from autograder.secret import SECRET_ENV, course_secret, keyed_generator, secret_path
from tests.conftest import drawn_inputs, reference_source

SVM = Options(mode="test", only=("svm",))


def hidden_ids() -> set[str]:
    svm = EXERCISES["svm"]
    return {svm.check_id(c) for c in svm.checks if c.visibility == "hidden"}


def two_submissions(tmp_path: Path) -> tuple[Path, Path]:
    """The svm reference, and the same with one comment added (seed mining's move)."""
    first, second = tmp_path / "a", tmp_path / "b"
    for folder, extra in ((first, ""), (second, "# one more comment\n")):
        folder.mkdir()
        (folder / "svm.py").write_text(reference_source("svm") + extra)
    return first, second


def test_the_secret_is_created_once_private_and_outside_the_repository(tmp_path, monkeypatch):
    monkeypatch.setenv(SECRET_ENV, str(tmp_path / "config" / "course-secret"))
    path = secret_path()
    assert not path.exists()
    secret = course_secret()
    assert path.is_file() and stat.S_IMODE(path.stat().st_mode) == 0o600
    assert len(bytes.fromhex(secret.decode())) == 32
    assert course_secret() == secret
    assert Path(__file__).resolve().parents[2] not in path.resolve().parents


def test_a_comment_gives_unrelated_hidden_inputs_that_need_the_secret(tmp_path):
    first, second = two_submissions(tmp_path)
    a, b = drawn_inputs(first, SVM), drawn_inputs(second, SVM)
    seeds = [grade(folder, SVM).seed for folder in (first, second)]
    assert seeds[0] != seeds[1]
    for check_id, (_, state) in a.items():
        if check_id in hidden_ids():
            assert b[check_id][1] != state, check_id
            # What a student can compute from the seed in the report: the public
            # generator, or the keyed one under a secret of their own.
            for guess in (
                public_generator(seeds[0], check_id),
                keyed_generator(b"guess", seeds[0], check_id),
            ):
                assert guess.bit_generator.state["state"]["state"] != state
        else:  # visible checks keep their fixed, public inputs
            assert (
                b[check_id][1]
                == state
                == public_generator(DEV_SEED, check_id).bit_generator.state["state"]["state"]
            )
    assert hidden_ids() <= set(a)


def test_another_secret_gives_other_seeds_and_inputs(tmp_path, monkeypatch):
    first, _ = two_submissions(tmp_path)
    before = drawn_inputs(first, SVM), grade(first, SVM).seed
    monkeypatch.setenv(SECRET_ENV, str(tmp_path / "another-course-secret"))
    after = drawn_inputs(first, SVM), grade(first, SVM).seed
    assert before[1] != after[1]
    assert all(before[0][i][1] != after[0][i][1] for i in hidden_ids())


def test_the_seed_shown_replays_a_grading_exactly(tmp_path):
    first, _ = two_submissions(tmp_path)
    shown = grade(first, SVM)
    replay = grade(first, Options(mode="test", only=("svm",), seed=shown.seed))
    assert drawn_inputs(first, SVM) == drawn_inputs(
        first, Options(mode="test", only=("svm",), seed=shown.seed)
    )

    def comparable(result) -> list:
        return [
            (c["id"], c["score"], c["message"])
            for e in result_to_dict(result)["exercises"]
            for c in e["checks"]
        ]

    assert replay.seed == shown.seed and comparable(replay) == comparable(shown)


def test_dev_mode_needs_no_secret(tmp_path, monkeypatch):
    monkeypatch.setenv(SECRET_ENV, "/proc/no-such-folder/course-secret")
    first, _ = two_submissions(tmp_path)
    result = grade(first, Options(mode="dev", only=("svm",)))
    assert result.score == result.max_score and result.seed == DEV_SEED
    with pytest.raises(Exception, match="course secret"):
        grade(first, SVM)


def test_the_gradescope_bundle_carries_the_secret_to_run_autograder(tmp_path):
    bundle = build_bundle(tmp_path / "autograder.zip", only=("svm",))
    with zipfile.ZipFile(bundle) as archive:
        info = archive.getinfo("course-secret")
        assert archive.read(info).strip() == course_secret()
        assert stat.S_IMODE(info.external_attr >> 16) == 0o600
        run = archive.read("run_autograder").decode()
    assert f'export {SECRET_ENV}="$ROOT/source/course-secret"' in run


def test_keyed_generators_differ_by_stream_and_seed():
    draws = {
        (seed, stream): keyed_generator(b"s", seed, stream).random()
        for seed in (1, 2)
        for stream in ("svm/naive/loss/reg=0/hidden", "svm/naive/dW/reg=0/hidden")
    }
    assert len(set(np.round(list(draws.values()), 12))) == 4
