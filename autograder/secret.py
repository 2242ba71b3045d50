"""The course secret, and the keyed seeds and generators of hidden inputs.

Hidden inputs must not be predictable by a student who reads this grader's
source: the seed of a submission is an HMAC of its digest with a secret the
students never see, and every hidden check draws its inputs from a generator
keyed by HMAC(secret, seed, check id). The seed shown in reports replays a
grading exactly (``--seed``) on a machine holding the secret, and tells a
student nothing about the inputs. Visible checks never use the secret: their
inputs are fixed and public, so a student release (dev mode only) needs none.

The secret lives in the instructor's configuration, outside the repository
and any release: ``$AUTOGRADER_SECRET_FILE`` when set, else
``$XDG_CONFIG_HOME/autograder/course-secret`` (``~/.config`` by default). It
is created on first use (32 random bytes, hex, mode 0600) and carried into
the Gradescope bundle (``authoring.gradescope_bundle``).
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import tempfile
from pathlib import Path

import numpy as np

SECRET_ENV = "AUTOGRADER_SECRET_FILE"
"""Environment variable naming the secret file (tests, Gradescope)."""

SECRET_BYTES = 32
"""Length of a new secret: 256 bits, as HMAC-SHA256's key."""


class SecretUnavailable(Exception):
    """The course secret can be neither read nor created."""


def secret_path() -> Path:
    """Where the course secret is read from (and created if missing)."""
    if os.environ.get(SECRET_ENV):
        return Path(os.environ[SECRET_ENV])
    config = os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config"
    return Path(config) / "autograder" / "course-secret"


def course_secret() -> bytes:
    """The course secret, created (0600, in a 0700 folder) on first use."""
    path = secret_path()
    if not path.exists():
        _create(path)
    try:
        text = path.read_text().strip()
    except OSError as error:
        raise SecretUnavailable(f"cannot read the course secret {path}: {error}") from None
    if not text:
        raise SecretUnavailable(f"the course secret {path} is empty")
    return text.encode()


def _create(path: Path) -> None:
    """Write a new secret to ``path`` atomically: written in full to a private
    temporary file, then linked into place unless a concurrent grader did first."""
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=".course-secret-")
        try:
            with os.fdopen(descriptor, "w") as handle:
                handle.write(secrets.token_hex(SECRET_BYTES) + "\n")
            os.link(temporary, path)
        except FileExistsError:
            pass
        finally:
            os.unlink(temporary)
    except OSError as error:
        raise SecretUnavailable(f"cannot create the course secret {path}: {error}") from None


def _mac(secret: bytes, message: str) -> bytes:
    return hmac.new(secret, message.encode(), hashlib.sha256).digest()


def submission_seed(secret: bytes, digest: str) -> int:
    """The seed of a submission: 32 bits of HMAC(secret, digest).

    A change of one comment gives an unrelated seed, and without the secret
    no one can tell which.
    """
    return int.from_bytes(_mac(secret, f"submission/{digest}")[:4], "big")


def keyed_generator(secret: bytes, seed: int, stream: str) -> np.random.Generator:
    """Generator of the hidden stream ``stream`` (a check id) for ``seed``:
    seeded with HMAC(secret, seed, stream), so ``seed`` alone does not give it."""
    return np.random.default_rng(int.from_bytes(_mac(secret, f"hidden/{seed}/{stream}"), "big"))
