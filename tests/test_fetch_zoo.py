"""The field's released files come from their URLs when no mirror has them: ``srbench data`` against a local HTTP
server (127.0.0.1) that serves the mirror's files under the manifest's own URL paths.

The embedded manifest (``data/manifests/zoo.tsv``) is used with only its host replaced (``https://raw.githubusercontent
.com`` -> ``http://127.0.0.1:<port>``), so the test exercises the real rows: their paths, sizes and sha256. A file the
server corrupts is refused (not stored) and reported missing.
"""

from __future__ import annotations

import csv
import functools
import http.server
import threading
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from srbench.core.errors import SrbenchError
from srbench.core.hashing import sha256_file
from srbench.core.store import mirror_root
from srbench.data import fetch

RAW = "https://raw.githubusercontent.com"


def _zoo_rows() -> list[dict]:
    with open(fetch.MANIFEST_DIR / "zoo.tsv", newline="") as fh:
        return list(csv.DictReader(fh, delimiter="\t"))


class _Handler(http.server.BaseHTTPRequestHandler):
    """Serves ``files`` (URL path -> local file); ``corrupt`` paths get their last byte flipped."""

    def __init__(self, *args, files: dict[str, Path], corrupt: set[str], **kwargs):
        self.files, self.corrupt = files, corrupt
        super().__init__(*args, **kwargs)

    def do_GET(self):  # noqa: N802 (the http.server API)
        path = self.files.get(self.path)
        if path is None:
            self.send_error(404)
            return
        data = bytearray(path.read_bytes())
        if self.path in self.corrupt:
            data[-1] ^= 0xFF
        self.send_response(200)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(bytes(data))

    def log_message(self, *args):  # quiet
        pass


@pytest.fixture
def zoo_mirror() -> Path:
    root = mirror_root()
    folder = root / "weights" / "zoo" if root is not None else Path("weights/zoo")
    if root is None or not (folder / "MANIFEST.tsv").is_file():
        pytest.skip(f"no mirror of the field's files at {folder}")
    return folder


@pytest.fixture
def served(zoo_mirror, tmp_path, monkeypatch):
    """A server on 127.0.0.1 with the mirror's zoo files at the manifest URLs' paths, and embedded manifests that
    point there (srbench's own weights and the data sets left out: empty manifests)."""
    rows = _zoo_rows()
    files = {urlsplit(r["source_url"]).path: zoo_mirror / r["file"] for r in rows}
    corrupt: set[str] = set()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Handler, files=files,
                                                                                 corrupt=corrupt))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    manifests = tmp_path / "manifests"
    manifests.mkdir()
    (manifests / "sr-data.tsv").write_text("path\tsha256\tbytes\twidth\theight\tmode\tsource_url\tnote\n")
    (manifests / "weights.tsv").write_text("file\tsha256\tbytes\tgit_blob_sha1\tsource_url\tdescription\n")
    text = (fetch.MANIFEST_DIR / "zoo.tsv").read_text()
    assert text.count(RAW) == len(rows)
    (manifests / "zoo.tsv").write_text(text.replace(RAW, base))
    monkeypatch.setattr(fetch, "MANIFEST_DIR", manifests)
    monkeypatch.setenv("SRBENCH_STORE", str(tmp_path / "store"))
    try:
        yield rows, corrupt
    finally:
        server.shutdown()
        server.server_close()


def test_field_files_download_from_their_urls(served, tmp_path):
    rows, _ = served
    report = fetch.fetch_all(("weights",), mirror=tmp_path / "no-mirror", progress=False)
    assert sorted(report.downloaded) == sorted(f"weights/zoo/{r['file']}" for r in rows)
    for row in rows:
        assert sha256_file(tmp_path / "store" / "weights" / "zoo" / row["file"]) == row["sha256"]
    again = fetch.fetch_all(("weights",), mirror=tmp_path / "no-mirror", progress=False)
    assert again.present == len(rows) and not again.downloaded  # idempotent


def test_a_corrupted_download_is_refused(served, tmp_path):
    rows, corrupt = served
    bad = next(r for r in rows if r["file"] == "rfdn_aim2020_x4.pth")
    corrupt.add(urlsplit(bad["source_url"]).path)
    with pytest.raises(SrbenchError, match=r"1 of 10 data files .*weights/zoo/rfdn_aim2020_x4\.pth"):
        fetch.fetch_all(("weights",), mirror=tmp_path / "no-mirror", progress=False)
    assert not (tmp_path / "store" / "weights" / "zoo" / "rfdn_aim2020_x4.pth").exists()
