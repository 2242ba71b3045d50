"""Attacks that need something set up around them: a process to kill, a secret in
the grader's environment, a listening port, another run going on at the same
time, the public MNIST test set, archives."""

from __future__ import annotations

import hashlib
import io
import os
import secrets
import socket
import stat
import subprocess
import threading
import time
import zipfile

import numpy as np
import pytest

from autograder import datasets
from autograder.checks import mlp
from autograder.references import load_reference
from autograder.results import Status
from autograder.sandbox import Child, Limits, StudentFault
from autograder.sandbox import limits as sandbox_limits
from tests.conftest import DATA_DIR, checks_by_name, reference_source
from tests.sandbox.attacks.support import Scene, assert_contained, require, svm_attack

FLOOD_BYTES = 2 * 1024**3
"""What the stdout flood prints: gigabytes, as the issue asks."""

SECONDS = 30.0
"""Budget of one direct ``Child`` run in these tests (each needs about 1 s)."""


def svm_inputs(seed: int = 0) -> tuple[np.ndarray, ...]:
    """A small svm_loss_naive problem."""
    rng = np.random.default_rng(seed)
    return rng.standard_normal((20, 4)) * 0.01, rng.standard_normal((8, 20)), rng.integers(0, 4, 8)


def start(tmp_path, source: str) -> Child:
    """A child running ``source`` as svm.py, in a folder of its own."""
    folder = tmp_path / secrets.token_hex(4)
    folder.mkdir()
    (folder / "svm.py").write_text(source)
    return Child(
        folder / "svm.py", "svm", Limits(wall_seconds=SECONDS), time.monotonic() + SECONDS, frozenset()
    )


def test_attack_killing_the_grader(scene, honest):
    """kill(getppid()) and a kill of another process of the grader's user: refused.

    (Not kill(-1): run as root without these layers, it would kill every process
    of the machine.)"""
    require("seccomp", "user")
    victim = subprocess.Popen(["sleep", "60"])
    try:
        payload = (
            f"import os, signal\nos.kill({victim.pid}, signal.SIGKILL)\nos.kill(os.getppid(), signal.SIGKILL)"
        )
        result = scene.grade({"svm.py": svm_attack(payload)})
        assert victim.poll() is None, "the child killed a process of the grader's user"
    finally:
        victim.kill()
        victim.wait()
    assert_contained(result, honest, scene, (Status.ERROR,), "not permitted")


def test_attack_reading_the_grader_environ_and_cmdline(scene, honest):
    """Scan every /proc/<pid>/environ and cmdline for the secret in the environment
    of a process of the grader's user."""
    require("user")
    secret = f"secret-{secrets.token_hex(8)}"
    holder = subprocess.Popen(
        ["sleep", "60"], env={"PATH": "/usr/bin:/bin", "AUTOGRADER_TEST_SECRET": secret}
    )
    payload = (
        "import os\n"
        "for pid in [p for p in os.listdir('/proc') if p.isdigit()]:\n"
        "    for part in ('environ', 'cmdline'):\n"
        "        try:\n"
        "            data = open(f'/proc/{pid}/{part}', 'rb').read()\n"
        "        except OSError:\n"
        "            continue\n"
        f"        if b'{secret}' in data:\n"
        "            raise RuntimeError(f'LEAK: /proc/{pid}/{part}')"
    )
    try:
        result = scene.grade({"svm.py": svm_attack(payload)})
    finally:
        holder.kill()
        holder.wait()
    messages = [c.message for e in result.exercises for c in e.checks]
    assert not any("LEAK" in m for m in messages), messages
    assert result.score <= honest.score
    scene.assert_intact()


def test_attack_network_connection_to_a_loopback_port(scene, honest):
    """Connect to a port this test listens on; nothing may arrive."""
    require("network", "seccomp")
    server = socket.create_server(("127.0.0.1", 0))
    server.settimeout(0.2)
    port = server.getsockname()[1]
    arrived: list[bytes] = []
    stop = threading.Event()

    def accept() -> None:
        while not stop.is_set():
            try:
                connection, _ = server.accept()
            except TimeoutError:
                continue
            arrived.append(connection.recv(100))
            connection.close()

    listener = threading.Thread(target=accept, daemon=True)
    listener.start()
    payload = (
        f"import socket\nsocket.create_connection(('127.0.0.1', {port}), timeout=2).sendall(b'score 100')"
    )
    try:
        result = scene.grade({"svm.py": svm_attack(payload)})
    finally:
        stop.set()
        listener.join()
        server.close()
    assert arrived == []
    words = "refused by the sandbox" if "seccomp" in result.environment["layers"] else "refused"
    assert_contained(result, honest, scene, (Status.ERROR,), words)


def test_attack_flooding_stdout_with_gigabytes(tmp_path):
    """2 GB printed at import: read and dropped, the grader keeps a few kB, the
    answer is still graded on its values."""
    flood = f"import os\nblock = b'passed 100/100\\n' * 2**20\nfor _ in range({FLOOD_BYTES} // len(block)):\n"
    child = start(tmp_path, reference_source("svm") + f"\n{flood}    os.write(1, block)\n")
    try:
        W, X, y = svm_inputs()
        loss, dW = child.call("svm_loss_naive", W, X, y, 0.0, seconds=SECONDS)
    finally:
        child.close()
    expected, expected_dW = load_reference("svm").svm_loss_naive(W, X, y, 0.0)
    assert np.isclose(loss, expected) and np.allclose(dW, expected_dW)
    assert child.output_bytes >= FLOOD_BYTES * 0.99
    assert len(child.output.encode()) <= sandbox_limits.OUTPUT_KEEP_BYTES


def test_attack_shadowing_modules(scene, honest):
    """json.py and numpy.py beside svm.py: never imported, named as ignored."""
    marker = scene.results / "shadowed"
    shadow = f"open({str(marker)!r}, 'w').write('imported')\nraise SystemExit(0)\n"
    files = {"svm.py": reference_source("svm"), "json.py": shadow, "numpy.py": shadow}
    result = scene.grade(files)
    assert result.score == honest.score
    notes = " ".join(note for e in result.exercises for note in e.notes)
    assert "json.py" in notes and "numpy.py" in notes, notes
    assert not marker.exists()
    scene.assert_intact()


def test_attack_writing_into_a_concurrent_run(tmp_path, scene, honest):
    """While another student's run is live, write into its folders; that run
    still answers with its own, correct values."""
    require("filesystem")
    other = start(tmp_path, reference_source("svm"))
    try:
        root = os.path.dirname(os.path.dirname(other._module))
        payload = (
            "import os\nhits = []\n"
            "for sub in ('io', 'home', 'submission'):\n"
            "    for name in ('svm.py', 'out-1-0.npy'):\n"
            "        try:\n"
            f"            open(os.path.join({root!r}, sub, name), 'w').write('x')\n"
            "            hits.append(sub)\n"
            "        except OSError:\n"
            "            pass\n"
            "if hits:\n"
            "    raise RuntimeError(f'LEAK: wrote into {hits}')\n"
            f"open(os.path.join({root!r}, 'io', 'x'), 'w')"
        )
        result = scene.grade({"svm.py": svm_attack(payload)})
        W, X, y = svm_inputs(1)
        loss, dW = other.call("svm_loss_naive", W, X, y, 0.1, seconds=SECONDS)
    finally:
        other.close()
    expected, expected_dW = load_reference("svm").svm_loss_naive(W, X, y, 0.1)
    assert np.isclose(loss, expected) and np.allclose(dW, expected_dW)
    assert_contained(result, honest, scene, (Status.ERROR,), "no such file")


LOOKUP_MODULE = """
import hashlib

import numpy as np

TABLE = {table!r}


def key(image):
    return hashlib.sha1(np.round(image * 255).astype(np.uint8).tobytes()).hexdigest()[:16]


class NeuralNetwork:
    def __init__(self, input_size=784, hidden_size=128, output_size=10, lr=0.01):
        self.W1 = np.zeros((input_size, hidden_size))
        self.b1 = np.zeros(hidden_size)
        self.W2 = np.zeros((hidden_size, output_size))
        self.b2 = np.zeros(output_size)

    def forward(self, X):
        return np.full((len(X), 10), 0.1)

    def backward(self, X, y, probs):
        return 0.0

    def train_step(self, X, y):
        return 0.0

    def predict(self, X):
        return np.array([TABLE.get(key(image), 0) for image in X])
"""


def image_key(image: np.ndarray) -> str:
    """The lookup table's key of one image (as the attack computes it)."""
    return hashlib.sha1(np.round(image * 255).astype(np.uint8).tobytes()).hexdigest()[:16]


def test_attack_lookup_table_of_the_public_mnist_test_images(tmp_path):
    """predict answers from a table of the public test images' labels; test mode
    evaluates on perturbed images, so the table never hits and gains nothing."""
    try:
        data = datasets.load("mnist", DATA_DIR, progress=False)
    except datasets.DatasetUnavailable as missing:
        pytest.skip(f"MNIST is not on this machine: {missing}")
    _, _, x_test, y_test = data.scaled()
    table = {image_key(image): int(label) for image, label in zip(x_test, y_test, strict=True)}
    hits = np.mean([image_key(image) in table for image in x_test[:1000]])
    assert hits == 1.0, "the table must work on the public images, or this test proves nothing"
    scene = Scene.build(tmp_path)
    result = scene.grade({"mlp.py": LOOKUP_MODULE.format(table=table)}, exercise="mlp", mode="test")
    accuracy = next(c for c in checks_by_name(result, "mlp").values() if "accuracy" in c.name)
    assert accuracy.status is Status.FAILED, accuracy.message
    confusion = np.asarray(accuracy.details["confusion"])
    # Every prediction is the table's miss value, whatever digit the renamed class maps back to.
    assert np.count_nonzero(confusion.sum(axis=0)) == 1, "a table lookup hit a perturbed test image"
    assert accuracy.details["accuracy"] < mlp.MIN_ACCURACY
    assert result.score < result.max_score
    scene.assert_intact()


def zip_bytes(members: list[tuple[zipfile.ZipInfo | str, bytes]]) -> bytes:
    """An archive holding ``members`` (name or ZipInfo, data), deflated."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for info, data in members:
            archive.writestr(info, data)
    return buffer.getvalue()


def symlink_member() -> zipfile.ZipInfo:
    info = zipfile.ZipInfo("svm.py")
    info.external_attr = (stat.S_IFLNK | 0o777) << 16
    return info


ARCHIVES = {
    "traversal": ([("../../svm.py", b"print('escaped')\n")], "climbs out"),
    "absolute path": ([("/tmp/svm.py", b"print('escaped')\n")], "absolute path"),
    "symbolic link": ([(symlink_member(), b"/work/main/solutions/svm.py")], "symbolic link"),
    "zip bomb": ([("svm.py", b"\0" * 64 * 1024**2)], "zip bomb"),
}


@pytest.mark.parametrize("kind", list(ARCHIVES))
def test_attack_zip_archive(kind, tmp_path):
    """An archive with traversal, a link or a bomb is refused before anything is written."""
    try:
        from autograder.submission.zipfiles import UnsafeArchive, extract_zip
    except ImportError:
        pytest.xfail("zip intake (autograder.submission.zipfiles) is not in this tree yet")
    members, words = ARCHIVES[kind]
    archive = tmp_path / "submission.zip"
    archive.write_bytes(zip_bytes(members))
    destination = tmp_path / "a" / "b" / "unpacked"
    destination.mkdir(parents=True)
    with pytest.raises(UnsafeArchive, match=words):
        extract_zip(archive, destination)
    written = sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*") if p.is_file())
    assert written == ["submission.zip"]


def test_student_fault_keeps_the_child_usable_after_refusals(tmp_path):
    """A refused operation is a fault of that call only: the next call answers."""
    require("seccomp")
    source = reference_source("svm") + "\n\ndef fork():\n    import os\n    return os.fork()\n"
    child = start(tmp_path, source)
    try:
        with pytest.raises(StudentFault, match="refused by the sandbox"):
            child.call("fork", seconds=SECONDS)
        W, X, y = svm_inputs()
        loss, _ = child.call("svm_loss_naive", W, X, y, 0.0, seconds=SECONDS)
    finally:
        child.close()
    assert np.isclose(loss, load_reference("svm").svm_loss_naive(W, X, y, 0.0)[0])
