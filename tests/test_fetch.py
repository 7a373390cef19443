"""data.fetch on a tiny fake mirror: fill, idempotence, repair, download, and the offline error."""

from __future__ import annotations

import hashlib
import io
import os
import stat
import urllib.error
import urllib.request

import pytest

from srbench.core.errors import SrbenchError
from srbench.data.fetch import fetch_all, read_manifests
from srbench.core.hashing import git_blob_sha1

FILES = {"benchmark/Tiny/HR/a.png": b"first image bytes", "train/T91/b.png": b"second image bytes" * 10}
WEIGHT = ("w.pth", b"weights!")
BLOB = b"blob of an unpublished checkpoint"
BLOB_SHA1 = hashlib.sha1(b"blob %d\0" % len(BLOB) + BLOB).hexdigest()  # what `git hash-object` prints


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture
def mirror(tmp_path, monkeypatch):
    """A read-only mirror with two data files, one weight and one row of unknown sha256; store in tmp."""
    root = tmp_path / "mirror"
    rows = ["path\tsha256\tbytes\twidth\theight\tmode\tsource_url\tnote"]
    for rel, data in FILES.items():
        (root / "sr-data" / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / "sr-data" / rel).write_bytes(data)
        rows.append(f"{rel}\t{sha(data)}\t{len(data)}\t1\t1\tRGB\thttps://example.invalid/{rel}\t")
    (root / "sr-data" / "MANIFEST.tsv").write_text("\n".join(rows) + "\n")
    (root / "weights").mkdir()
    (root / "weights" / WEIGHT[0]).write_bytes(WEIGHT[1])
    (root / "weights" / "MANIFEST.tsv").write_text(
        "file\tsha256\tbytes\tgit_blob_sha1\tsource_url\tdescription\n"
        f"{WEIGHT[0]}\t{sha(WEIGHT[1])}\t8\tx\thttps://example.invalid/w.pth\tweights\n"
        f"big.pth\t(unknown)\t(unknown)\t{BLOB_SHA1}"
        "\thttps://example.invalid/big.pth\tnot here\n")
    (root / "weights" / "zoo").mkdir()  # the field's released files: none in this mirror (tests/test_fetch_zoo.py)
    (root / "weights" / "zoo" / "MANIFEST.tsv").write_text(
        "file\tsha256\tbytes\tgit_blob_sha1\tsource_url\tdescription\tlicence\n")
    for path in root.rglob("*"):
        if path.is_file():
            path.chmod(0o444)
    monkeypatch.setenv("SRBENCH_STORE", str(tmp_path / "store"))
    monkeypatch.setenv("SRBENCH_MIRROR", str(root))
    yield root
    for path in root.rglob("*"):
        path.chmod(0o755)


@pytest.fixture
def offline(monkeypatch):
    """No network: every urlopen fails like an unreachable host."""
    def refuse(*args, **kwargs):
        raise urllib.error.URLError("network unreachable (test)")
    monkeypatch.setattr(urllib.request, "urlopen", refuse)


def test_fills_store_from_mirror_and_is_idempotent(mirror, tmp_path, offline):
    store = tmp_path / "store"
    report = fetch_all(progress=False)
    assert sorted(report.copied) == sorted(list(FILES) + ["weights/w.pth"])
    for rel, data in FILES.items():
        assert (store / rel).read_bytes() == data
        assert (store / rel).stat().st_mode & stat.S_IWUSR  # writable although the mirror is read-only
    assert any("big.pth" in note and "sha256 unknown" in note for note in report.notes)

    again = fetch_all(progress=False)
    assert again.present == 3 and not again.copied and not again.downloaded and not again.missing


def test_corrupted_store_file_is_recopied(mirror, tmp_path, offline):
    fetch_all(progress=False)
    bad = tmp_path / "store" / "train" / "T91" / "b.png"
    bad.write_bytes(b"X" * len(FILES["train/T91/b.png"]))  # same size: only the hash tells
    os.utime(bad, ns=(10**9, 10**9))
    report = fetch_all(progress=False)
    assert report.copied == ["train/T91/b.png"]
    assert bad.read_bytes() == FILES["train/T91/b.png"]


def test_user_placed_file_without_sha256_is_checked_by_git_blob(mirror, tmp_path, offline):
    fetch_all(progress=False)
    placed = tmp_path / "store" / "weights" / "big.pth"
    placed.write_bytes(BLOB)
    assert any("big.pth: present, verified" in n for n in fetch_all(progress=False).notes)
    placed.write_bytes(BLOB + b"!")
    assert any("big.pth: present but its git blob sha1" in n for n in fetch_all(progress=False).notes)
    placed.write_bytes(BLOB)
    assert git_blob_sha1(placed) == BLOB_SHA1


def test_downloads_when_the_mirror_lacks_a_file(mirror, tmp_path, monkeypatch):
    missing = mirror / "sr-data" / "train" / "T91" / "b.png"
    missing.chmod(0o644)
    missing.unlink()
    urls = []

    def fake_urlopen(url, timeout=None):
        urls.append(url)
        return io.BytesIO(FILES["train/T91/b.png"])

    monkeypatch.setattr(urllib.request, "urlopen", fake_urlopen)
    report = fetch_all(progress=False)
    assert report.downloaded == ["train/T91/b.png"] and urls == ["https://example.invalid/train/T91/b.png"]
    assert (tmp_path / "store" / "train" / "T91" / "b.png").read_bytes() == FILES["train/T91/b.png"]


def test_no_mirror_file_and_no_network_is_an_error(mirror, tmp_path, offline):
    for rel in FILES:
        (mirror / "sr-data" / rel).chmod(0o644)
        (mirror / "sr-data" / rel).unlink()
    with pytest.raises(SrbenchError) as err:
        fetch_all(progress=False)
    msg = str(err.value)
    assert "2 of 4" in msg and "benchmark/Tiny/HR/a.png" in msg and "SRBENCH_MIRROR" in msg and "\n" not in msg
    assert not list((tmp_path / "store").rglob("*.part"))  # no partial files left behind


def test_embedded_manifests_without_mirror(tmp_path, monkeypatch, offline):
    monkeypatch.setenv("SRBENCH_STORE", str(tmp_path / "store"))
    monkeypatch.setenv("SRBENCH_MIRROR", str(tmp_path / "no-mirror"))
    entries = read_manifests(None)
    assert {e.target for e in entries} == {"benchmark", "train", "weights"}
    weights = [e for e in entries if e.target == "weights"]
    assert any(e.store_rel == "weights/carn.pth" and e.sha256 is None for e in weights)
    assert sum(e.store_rel.startswith("weights/zoo/") for e in weights) == 10  # the field's released files
    with pytest.raises(SrbenchError, match=r"18 of 19 data files.*no mirror"):
        fetch_all(targets=("weights",), progress=False)
    with pytest.raises(SrbenchError, match="unknown data target"):
        fetch_all(targets=("nope",), progress=False)


def test_row_without_a_download_url_is_only_copied(mirror, tmp_path, monkeypatch):
    """A source described in words (a member of a package archive) is never opened as a URL; when the mirror lacks
    the file, the error says where to get it."""
    manifest = mirror / "weights" / "MANIFEST.tsv"
    manifest.chmod(0o644)
    data = b"archive member"
    source = "PyPI sdist pkg==0.1.0 (pkg-0.1.0.tar.gz), member pkg/weights/m.ckpt"
    manifest.write_text(manifest.read_text() + f"m.ckpt\t{sha(data)}\t{len(data)}\t-\t{source}\tfrom an archive\n")

    def refuse(*args, **kwargs):
        raise AssertionError("urlopen must not be called for a row without a URL")

    monkeypatch.setattr(urllib.request, "urlopen", refuse)
    with pytest.raises(SrbenchError, match=r"1 of 5 data files.*first: weights/m\.ckpt, from PyPI sdist pkg==0\.1\.0"):
        fetch_all(progress=False)
    (mirror / "weights" / "m.ckpt").write_bytes(data)
    assert "weights/m.ckpt" in fetch_all(progress=False).copied
