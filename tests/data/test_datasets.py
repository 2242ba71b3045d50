"""Tests of autograder/datasets.py: IDX parsing, locating, loading, downloading."""

from __future__ import annotations

import gzip
import hashlib
import http.server
import io
import socket
import sys
import threading
from collections.abc import Iterator
from functools import partial
from pathlib import Path

import numpy as np
import pytest

from autograder import datasets as ds
from tests.conftest import DATA_DIR

NAMES = {
    "train_images": "train-images-idx3-ubyte.gz",
    "train_labels": "train-labels-idx1-ubyte.gz",
    "test_images": "t10k-images-idx3-ubyte.gz",
    "test_labels": "t10k-labels-idx1-ubyte.gz",
}


# --------------------------------------------------------------------------- helpers


def idx_images(images: np.ndarray) -> bytes:
    n, rows, cols = images.shape
    header = (0x803).to_bytes(4, "big") + b"".join(d.to_bytes(4, "big") for d in (n, rows, cols))
    return header + images.astype(np.uint8).tobytes()


def idx_labels(labels: np.ndarray) -> bytes:
    header = (0x801).to_bytes(4, "big") + len(labels).to_bytes(4, "big")
    return header + labels.astype(np.uint8).tobytes()


def make_arrays(n_train: int = 20, n_test: int = 10, seed: int = 0) -> dict:
    rng = np.random.default_rng(seed)
    return {
        "train_images": rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
        "train_labels": rng.integers(0, 10, n_train, dtype=np.uint8),
        "test_images": rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
        "test_labels": rng.integers(0, 10, n_test, dtype=np.uint8),
    }


def write_dataset(folder: Path, arrays: dict, compress: bool = True) -> dict[str, str]:
    """Write the four IDX files; return role -> MD5 of the stored file."""
    folder.mkdir(parents=True, exist_ok=True)
    md5s = {}
    for role, array in arrays.items():
        data = idx_images(array) if role.endswith("images") else idx_labels(array)
        name = NAMES[role] if compress else NAMES[role].removesuffix(".gz")
        stored = gzip.compress(data, mtime=0) if compress else data
        (folder / name).write_bytes(stored)
        md5s[role] = hashlib.md5(stored).hexdigest()
    return md5s


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No AUTOGRADER_DATA, and a private, empty cache; returns the cache dir."""
    monkeypatch.delenv(ds.ENV_VAR, raising=False)
    monkeypatch.delenv(ds.OFFLINE_VAR, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    return tmp_path / "xdg" / "autograder" / "datasets"


# --------------------------------------------------------------------------- parsing


def test_parse_good_images_and_labels() -> None:
    arrays = make_arrays()
    images = ds.parse_idx(idx_images(arrays["train_images"]), "images")
    labels = ds.parse_idx(idx_labels(arrays["train_labels"]), "labels")
    assert images.shape == (20, 28, 28) and images.dtype == np.uint8
    np.testing.assert_array_equal(images, arrays["train_images"])
    np.testing.assert_array_equal(labels, arrays["train_labels"])


@pytest.mark.parametrize("magic", [0x801, 0x802, 0x0D03, 0x08030000, 0x00000003, 0x01000803])
def test_parse_rejects_wrong_magic(magic: int) -> None:
    data = bytearray(idx_images(make_arrays()["train_images"]))
    data[0:4] = magic.to_bytes(4, "big")
    with pytest.raises(ds.IDXFormatError, match="magic"):
        ds.parse_idx(bytes(data), "images")


def test_parse_rejects_label_file_as_images_and_vice_versa() -> None:
    arrays = make_arrays()
    with pytest.raises(ds.IDXFormatError, match="magic"):
        ds.parse_idx(idx_labels(arrays["train_labels"]), "images")
    with pytest.raises(ds.IDXFormatError, match="magic"):
        ds.parse_idx(idx_images(arrays["train_images"]), "labels")


def test_parse_rejects_truncated_and_trailing_data() -> None:
    data = idx_images(make_arrays()["train_images"])
    with pytest.raises(ds.IDXFormatError, match="truncated"):
        ds.parse_idx(data[:-1], "images")
    with pytest.raises(ds.IDXFormatError, match="trailing"):
        ds.parse_idx(data + b"\x00", "images")
    with pytest.raises(ds.IDXFormatError, match="header"):
        ds.parse_idx(data[:10], "images")
    labels = idx_labels(make_arrays()["train_labels"])
    with pytest.raises(ds.IDXFormatError, match="truncated"):
        ds.parse_idx(labels[:-3], "labels")


def test_parse_rejects_count_not_matching_data() -> None:
    data = bytearray(idx_labels(np.arange(10)))
    data[4:8] = (11).to_bytes(4, "big")  # header claims 11 labels, 10 present
    with pytest.raises(ds.IDXFormatError):
        ds.parse_idx(bytes(data), "labels")
    data[4:8] = (0).to_bytes(4, "big")
    with pytest.raises(ds.IDXFormatError, match="zero"):
        ds.parse_idx(bytes(data), "labels")


def test_parse_huge_dimensions_do_not_overflow() -> None:
    header = (0x803).to_bytes(4, "big") + (2**32 - 1).to_bytes(4, "big") * 3
    with pytest.raises(ds.IDXFormatError, match="truncated"):
        ds.parse_idx(header + b"\x00" * 100, "images")


def test_parse_rejects_unknown_kind() -> None:
    with pytest.raises(ValueError, match="kind"):
        ds.parse_idx(b"", "pixels")


def test_read_idx_gzip_and_raw(tmp_path: Path) -> None:
    arrays = make_arrays()
    data = idx_images(arrays["test_images"])
    (tmp_path / "a.gz").write_bytes(gzip.compress(data))
    (tmp_path / "a").write_bytes(data)
    for name in ("a.gz", "a"):
        np.testing.assert_array_equal(ds.read_idx(tmp_path / name, "images"), arrays["test_images"])


def test_read_idx_rejects_bad_gzip(tmp_path: Path) -> None:
    data = gzip.compress(idx_labels(np.arange(10)))
    (tmp_path / "truncated.gz").write_bytes(data[:-6])
    corrupt = bytearray(data)
    corrupt[-8] ^= 0xFF  # CRC32 of the member
    (tmp_path / "crc.gz").write_bytes(bytes(corrupt))
    (tmp_path / "notgzip.gz").write_bytes(idx_labels(np.arange(10)))
    for name in ("truncated.gz", "crc.gz", "notgzip.gz"):
        with pytest.raises(ds.IDXFormatError):
            ds.read_idx(tmp_path / name, "labels")


def test_decompression_is_capped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # 10 MB of zeros compress to about 10 kB: a small gzip bomb.
    bomb = gzip.compress(idx_labels(np.zeros(10, np.uint8))[:8] + b"\x00" * 10_000_000)
    assert len(bomb) < 100_000
    (tmp_path / "bomb.gz").write_bytes(bomb)
    monkeypatch.setattr(ds, "MAX_IDX_BYTES", 1_000_000)
    with pytest.raises(ds.IDXFormatError, match="limit"):
        ds.read_idx(tmp_path / "bomb.gz", "labels")


# --------------------------------------------------------------------------- loading


def test_load_small_dataset_gz_and_raw(tmp_path: Path, clean_env: Path) -> None:
    arrays = make_arrays()
    for compress in (True, False):
        folder = tmp_path / f"data{compress}" / "mnist"
        write_dataset(folder, arrays, compress=compress)
        data = ds.load("mnist", data_dir=folder.parent)
        assert data.data_dir == folder
        assert data.x_train.shape == (20, 784) and data.x_train.dtype == np.uint8
        assert data.y_train.dtype == np.int64 and data.y_test.shape == (10,)
        np.testing.assert_array_equal(data.x_test.reshape(-1, 28, 28), arrays["test_images"])
        np.testing.assert_array_equal(data.y_train, arrays["train_labels"])
        assert [r.samples for r in data.files] == [20, 20, 10, 10]
        assert not data.official and not any(r.official for r in data.files)
        for array in (data.x_train, data.y_train, data.x_test, data.y_test):
            assert not array.flags.writeable
        x_train, _, x_test, _ = data.scaled()
        assert x_train.dtype == np.float64 and 0.0 <= x_train.min() <= x_train.max() <= 1.0
        np.testing.assert_allclose(x_test * 255, data.x_test)


def test_load_rejects_image_label_count_mismatch(tmp_path: Path, clean_env: Path) -> None:
    arrays = make_arrays()
    arrays["test_labels"] = arrays["test_labels"][:9]
    write_dataset(tmp_path / "mnist", arrays)
    with pytest.raises(ds.IDXFormatError, match="10 images but 9 labels"):
        ds.load("mnist", data_dir=tmp_path)


def test_load_rejects_bad_labels_and_shapes(tmp_path: Path, clean_env: Path) -> None:
    arrays = make_arrays()
    arrays["train_labels"][3] = 10
    write_dataset(tmp_path / "a" / "mnist", arrays)
    with pytest.raises(ds.IDXFormatError, match="out of range"):
        ds.load("mnist", data_dir=tmp_path / "a")
    arrays = make_arrays()
    arrays["test_images"] = arrays["test_images"][:, :27, :]
    write_dataset(tmp_path / "b" / "mnist", arrays)
    with pytest.raises(ds.IDXFormatError, match="28x28"):
        ds.load("mnist", data_dir=tmp_path / "b")


def test_load_reports_official_checksums(
    tmp_path: Path, clean_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    arrays = make_arrays()
    md5s = write_dataset(tmp_path / "mnist", arrays)
    spec = dict(ds.DATASETS["mnist"])
    spec["test_images"] = ds.RemoteFile("test_images", NAMES["test_images"], (), md5s["test_images"])
    content = hashlib.md5(idx_labels(arrays["test_labels"])).hexdigest()
    spec["test_labels"] = ds.RemoteFile("test_labels", NAMES["test_labels"], (), "0" * 32, content)
    monkeypatch.setitem(ds.DATASETS, "mnist", spec)
    data = ds.load("mnist", data_dir=tmp_path)
    by_role = dict(zip(ds.ROLES, data.files, strict=True))
    assert by_role["test_images"].official
    assert by_role["test_images"].evidence == "archive md5"
    assert by_role["test_labels"].official
    assert by_role["test_labels"].evidence == "content md5"
    assert not by_role["train_images"].official
    assert by_role["train_images"].evidence == ""
    stored = (tmp_path / "mnist" / NAMES["test_images"]).read_bytes()
    assert by_role["test_images"].sha256 == hashlib.sha256(stored).hexdigest()
    filename, samples, sha256 = by_role["test_images"][:3]
    assert (filename, samples) == (NAMES["test_images"], 10) and len(sha256) == 64


def test_unknown_dataset_name() -> None:
    with pytest.raises(ValueError, match="unknown data set"):
        ds.find_data_dir("cifar")


def test_published_checksums_table() -> None:
    assert set(ds.DATASETS) == {"mnist", "fashion-mnist"}
    for files in ds.DATASETS.values():
        assert set(files) == set(ds.ROLES)
        for role, remote in files.items():
            assert remote.role == role and remote.filename == NAMES[role]
            assert len(remote.md5) == 32 and len(remote.content_md5 or "") == 32
            assert remote.urls and all(u.endswith(remote.filename) for u in remote.urls)
    assert ds.DATASETS["mnist"]["test_images"].md5 == "9fb629c4189551a2d022fa330f9573f3"
    assert ds.DATASETS["mnist"]["train_images"].urls == (
        "https://ossci-datasets.s3.amazonaws.com/mnist/train-images-idx3-ubyte.gz",
        "https://storage.googleapis.com/cvdf-datasets/mnist/train-images-idx3-ubyte.gz",
    )


# --------------------------------------------------------------------------- locating


def test_cache_dir_follows_xdg_and_home(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert ds.cache_dir() == tmp_path / "xdg" / "autograder" / "datasets"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert ds.cache_dir() == tmp_path / "home" / ".cache" / "autograder" / "datasets"


def test_locating_order(tmp_path: Path, clean_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    arrays = make_arrays()
    explicit = tmp_path / "explicit"  # the data set folder itself
    parent = tmp_path / "parent"  # a parent holding mnist/
    env = tmp_path / "env"
    write_dataset(explicit, arrays)
    write_dataset(parent / "mnist", arrays)
    write_dataset(env / "mnist", arrays)
    write_dataset(clean_env / "mnist", arrays)

    assert ds.find_data_dir("mnist", explicit) == explicit
    assert ds.find_data_dir("mnist", str(parent)) == parent / "mnist"
    assert ds.find_data_dir("mnist") == clean_env / "mnist"
    monkeypatch.setenv(ds.ENV_VAR, str(env))
    assert ds.find_data_dir("mnist") == env / "mnist"
    assert ds.find_data_dir("mnist", explicit) == explicit  # explicit beats env
    monkeypatch.setenv(ds.ENV_VAR, str(env / "mnist"))  # env may name the folder itself
    assert ds.find_data_dir("mnist") == env / "mnist"
    # A directory without the data set is passed over.
    assert ds.find_data_dir("mnist", tmp_path / "nowhere") == env / "mnist"
    # Same file names: a folder named after another data set is not taken.
    assert ds.find_data_dir("fashion-mnist", explicit) == explicit
    monkeypatch.delenv(ds.ENV_VAR)
    assert ds.find_data_dir("fashion-mnist", parent / "mnist") is None
    assert ds.find_data_dir("mnist", parent / "mnist") == parent / "mnist"
    write_dataset(parent / "fashion-mnist", arrays)
    assert ds.find_data_dir("fashion-mnist", parent) == parent / "fashion-mnist"
    write_dataset(parent / "fashion_mnist", arrays)
    assert ds.find_data_dir("mnist", parent / "fashion_mnist") == clean_env / "mnist"


def test_parent_layout_is_preferred(tmp_path: Path, clean_env: Path) -> None:
    write_dataset(tmp_path, make_arrays(seed=1))
    write_dataset(tmp_path / "mnist", make_arrays(seed=2))
    assert ds.find_data_dir("mnist", tmp_path) == tmp_path / "mnist"


def test_official_file_of_another_dataset_is_refused(
    tmp_path: Path, clean_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    arrays = make_arrays()
    md5s = write_dataset(tmp_path / "data", arrays)
    other = {role: ds.RemoteFile(role, NAMES[role], (), md5) for role, md5 in md5s.items()}
    monkeypatch.setitem(ds.DATASETS, "mnist", other)  # these files are "official MNIST"
    assert ds.load("mnist", data_dir=tmp_path / "data").official
    with pytest.raises(ds.IDXFormatError, match=r"official .* of 'mnist'"):
        ds.load("fashion-mnist", data_dir=tmp_path / "data")


def test_incomplete_directory_is_skipped(tmp_path: Path, clean_env: Path) -> None:
    write_dataset(tmp_path / "mnist", make_arrays())
    (tmp_path / "mnist" / NAMES["test_labels"]).unlink()
    assert ds.find_data_dir("mnist", tmp_path) is None
    write_dataset(clean_env / "mnist", make_arrays())
    assert ds.find_data_dir("mnist", tmp_path) == clean_env / "mnist"


def test_missing_data_without_download_is_unavailable(tmp_path: Path, clean_env: Path) -> None:
    with pytest.raises(ds.DatasetUnavailable) as info:
        ds.load("fashion-mnist", data_dir=tmp_path)
    message = str(info.value)
    for needle in (
        "--data-dir",
        "AUTOGRADER_DATA",
        str(clean_env / "fashion-mnist"),
        str(tmp_path),
        "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/train-images-idx3-ubyte.gz",
    ):
        assert needle in message


# --------------------------------------------------------------------------- shared data


needs_shared = pytest.mark.skipif(
    not (DATA_DIR / "mnist").is_dir(),
    reason=f"shared data sets not found at {DATA_DIR} (set AUTOGRADER_TEST_DATA)",
)


@needs_shared
def test_shared_mnist_subset_and_official_test_set(clean_env: Path) -> None:
    data = ds.load("mnist", data_dir=DATA_DIR)
    assert data.data_dir == DATA_DIR / "mnist"
    assert data.x_train.shape == (5000, 784) and data.x_test.shape == (10000, 784)
    assert np.bincount(data.y_train).tolist() == [500] * 10
    assert data.y_test.min() == 0 and data.y_test.max() == 9
    train_images, train_labels, test_images, test_labels = data.files
    assert (train_images.samples, test_images.samples) == (5000, 10000)
    assert test_images.md5 == "9fb629c4189551a2d022fa330f9573f3"
    assert test_images.official and test_labels.official
    assert not train_images.official and not train_labels.official
    assert not data.official
    stored = (DATA_DIR / "mnist" / "t10k-images-idx3-ubyte.gz").read_bytes()
    assert test_images.sha256 == hashlib.sha256(stored).hexdigest()


@needs_shared
def test_shared_fashion_mnist_is_official_content(clean_env: Path) -> None:
    data = ds.load("fashion-mnist", data_dir=DATA_DIR)
    assert data.x_train.shape == (60000, 784) and data.x_test.shape == (10000, 784)
    assert [r.samples for r in data.files] == [60000, 60000, 10000, 10000]
    # Recompressed by Debian: archive MD5s differ, decompressed content is official.
    assert all(r.official and r.evidence == "content md5" for r in data.files)


# --------------------------------------------------------------------------- downloading


class _Handler(http.server.SimpleHTTPRequestHandler):
    requests: list[str]

    def do_GET(self) -> None:
        self.requests.append(self.path)
        if self.path.startswith("/cut/"):  # announce 100 kB, send 20 bytes, hang up
            self.send_response(200)
            self.send_header("Content-Length", "100000")
            self.end_headers()
            self.wfile.write(b"\x1f\x8b" * 10)
            self.close_connection = True
            return
        super().do_GET()

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def http_server(tmp_path: Path) -> Iterator[tuple[str, Path, list[str]]]:
    """Serve tmp_path/www on 127.0.0.1; yields (base URL, root, requested paths)."""
    root = tmp_path / "www"
    root.mkdir()
    requests: list[str] = []
    handler = type("Handler", (_Handler,), {"requests": requests})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), partial(handler, directory=str(root)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/", root, requests
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/"


def patch_spec(monkeypatch: pytest.MonkeyPatch, mirrors: list[str], md5s: dict[str, str]) -> None:
    spec = {
        role: ds.RemoteFile(role, NAMES[role], tuple(m + NAMES[role] for m in mirrors), md5)
        for role, md5 in md5s.items()
    }
    monkeypatch.setitem(ds.DATASETS, "mnist", spec)


def test_download_from_local_mirror(
    http_server: tuple[str, Path, list[str]],
    clean_env: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    url, root, requests = http_server
    arrays = make_arrays(n_train=300)
    md5s = write_dataset(root, arrays)
    patch_spec(monkeypatch, [closed_port_url(), url], md5s)  # first mirror is down

    data = ds.load("mnist", download=True, progress=True)

    assert data.data_dir == clean_env / "mnist"
    assert all(r.official and r.evidence == "archive md5" for r in data.files)
    np.testing.assert_array_equal(data.x_train.reshape(-1, 28, 28), arrays["train_images"])
    assert sorted(p.name for p in (clean_env / "mnist").iterdir()) == sorted(NAMES.values())
    assert len(requests) == 4
    err = capsys.readouterr().err
    assert "train-images-idx3-ubyte.gz: 100%" in err  # plain lines when not a TTY
    assert "\r" not in err
    # Found in the cache now: no further request.
    ds.load("mnist", download=True)
    assert len(requests) == 4


def test_download_fetches_only_missing_files(
    http_server: tuple[str, Path, list[str]],
    clean_env: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    url, root, requests = http_server
    md5s = write_dataset(root, make_arrays())
    write_dataset(clean_env / "mnist", make_arrays())
    (clean_env / "mnist" / NAMES["train_labels"]).unlink()
    patch_spec(monkeypatch, [url], md5s)
    ds.load("mnist", download=True, progress=False)
    assert requests == ["/" + NAMES["train_labels"]]


def test_offline_setting_forbids_download(
    http_server: tuple[str, Path, list[str]],
    clean_env: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    url, root, requests = http_server
    patch_spec(monkeypatch, [url], write_dataset(root, make_arrays()))
    monkeypatch.setenv(ds.OFFLINE_VAR, "1")
    with pytest.raises(ds.DatasetUnavailable, match=ds.OFFLINE_VAR):
        ds.load("mnist", download=True, progress=False)
    assert requests == []


def test_download_progress_bar_on_tty(
    http_server: tuple[str, Path, list[str]],
    clean_env: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    class TTY(io.StringIO):
        def isatty(self) -> bool:
            return True

    url, root, _ = http_server
    patch_spec(monkeypatch, [url], write_dataset(root, make_arrays()))
    stderr = TTY()
    monkeypatch.setattr(sys, "stderr", stderr)
    ds.download_dataset("mnist", progress=True)
    out = stderr.getvalue()
    assert "\rt10k-images-idx3-ubyte.gz [" in out and "100.0%" in out and "#" * 30 in out


def test_download_checksum_mismatch_is_refused(
    http_server: tuple[str, Path, list[str]],
    clean_env: Path,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    url, root, _ = http_server
    good = tmp_path / "good"
    good_md5s = write_dataset(good, make_arrays(seed=1))
    write_dataset(root, make_arrays(seed=2))  # the mirror serves other files
    patch_spec(monkeypatch, [url], good_md5s)
    with pytest.raises(ds.DatasetUnavailable, match="does not match published"):
        ds.load("mnist", download=True, progress=False)
    # Nothing (not even a temporary file) is left in the cache.
    assert list((clean_env / "mnist").iterdir()) == []


def test_download_falls_back_to_next_mirror_on_bad_checksum(
    http_server: tuple[str, Path, list[str]],
    clean_env: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    url, root, requests = http_server
    md5s = write_dataset(root / "good", make_arrays(seed=1))
    write_dataset(root / "bad", make_arrays(seed=2))
    patch_spec(monkeypatch, [url + "bad/", url + "missing/", url + "cut/", url + "good/"], md5s)
    data = ds.load("mnist", download=True, progress=False)
    assert data.official
    assert len(requests) == 16  # bad (mismatch), missing (404), cut short, good; for each file


def test_download_cut_short_is_refused(
    http_server: tuple[str, Path, list[str]],
    clean_env: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    url, _, _ = http_server
    patch_spec(monkeypatch, [url + "cut/"], dict.fromkeys(NAMES, "0" * 32))
    with pytest.raises(ds.DatasetUnavailable, match=r"IncompleteRead|received"):
        ds.load("mnist", download=True, progress=False)
    assert list((clean_env / "mnist").iterdir()) == []


def test_unreachable_mirrors_raise_unavailable(clean_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    dead = closed_port_url()
    patch_spec(monkeypatch, [dead], dict.fromkeys(NAMES, "0" * 32))
    with pytest.raises(ds.DatasetUnavailable) as info:
        ds.load("mnist", download=True, progress=False)
    message = str(info.value)
    for needle in (
        "could not download",
        "--data-dir",
        "AUTOGRADER_DATA",
        str(clean_env / "mnist"),
        dead + "train-images-idx3-ubyte.gz",
    ):
        assert needle in message
    assert list((clean_env / "mnist").iterdir()) == []


def test_non_http_urls_are_refused(tmp_path: Path, clean_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    md5s = write_dataset(tmp_path / "src", make_arrays())
    patch_spec(monkeypatch, [(tmp_path / "src").as_uri() + "/"], md5s)
    with pytest.raises(ds.DatasetUnavailable, match="non-HTTP"):
        ds.load("mnist", download=True, progress=False)
