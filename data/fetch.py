"""Fill the data store (``srbench data`` / ``make data``): every file of the manifests, sha256-checked.

Manifests: ``sr-data`` (benchmark sets, T91), ``weights`` (srbench's checkpoints, LPIPS) and ``weights/zoo`` (the
field's released models, :mod:`srbench.models.field`; stored under ``<store>/weights/zoo/``).

For each manifest row the store file is kept when its sha256 is right; otherwise it is copied from the mirror
(``<mirror>/sr-data/<path>``, ``<mirror>/weights/<file>``), otherwise downloaded from the row's URL; a copy or download
goes to a temporary file beside the target, is checked, then renamed. Hashes are remembered by (size, mtime) in
``<store>/.sha256-cache.json``, so a re-run over an intact store takes about a second.

Manifests come from the mirror when it has them, else from the copies embedded in the project (``data/manifests/``).
A row whose source is not an http(s) URL (a member of a package archive, described in words) is only copied from the
mirror; when the mirror lacks it, the error names that source. Rows with an unknown sha256 (``carn.pth``) are not
fetched: when a user placed the file it is checked against the row's git blob sha1, and the report carries a note
either way.
"""

from __future__ import annotations

import csv
import hashlib
import http.client
import os
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from tqdm import tqdm

from srbench.core.atomic import atomic_path
from srbench.core.errors import SrbenchError
from srbench.core.hashing import HashCache, git_blob_sha1
from srbench.core.store import mirror_root, store_root

MANIFEST_DIR = Path(__file__).resolve().parent / "manifests"
TARGETS = ("benchmark", "train", "weights")
CACHE_NAME = ".sha256-cache.json"
DOWNLOAD_TIMEOUT_S = 60


@dataclass(frozen=True)
class Entry:
    """One manifest row: where it goes in the store, where it is in the mirror, and how to check it."""

    target: str  # benchmark | train | weights
    store_rel: str  # path relative to the store
    mirror_rel: str  # path relative to the mirror
    sha256: str | None  # None when the manifest says '(unknown)'
    git_blob_sha1: str | None
    url: str


@dataclass
class FetchReport:
    """What ``fetch_all`` found and did; ``notes`` are one-line remarks (unknown checksums, mismatches)."""

    store: Path
    mirror: Path | None
    checked: int = 0
    present: int = 0
    copied: list[str] = field(default_factory=list)
    downloaded: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def summary(self) -> str:
        """One line for the CLI."""
        return (f"{self.checked} files checked in {self.store}: {self.present} ok, {len(self.copied)} copied, "
                f"{len(self.downloaded)} downloaded, {len(self.missing)} missing")


#: manifests: mirror folder (holding ``MANIFEST.tsv``) -> name of the embedded copy in ``data/manifests/``
MANIFESTS = {"sr-data": "sr-data.tsv", "weights": "weights.tsv", "weights/zoo": "zoo.tsv"}


def _manifest_path(mirror: Path | None, kind: str) -> Path:
    """The mirror's manifest when it has one, else the embedded copy."""
    mirrored = mirror / kind / "MANIFEST.tsv" if mirror is not None else None
    if mirrored is not None and mirrored.is_file():
        return mirrored
    return MANIFEST_DIR / MANIFESTS[kind]


def _known(value: str) -> str | None:
    value = (value or "").strip()
    return None if not value or value.startswith("(") else value


def read_manifests(mirror: Path | None) -> list[Entry]:
    """Every row of ``sr-data`` and ``weights`` manifests as Entries."""
    entries = []
    with open(_manifest_path(mirror, "sr-data"), newline="") as fh:
        for row in csv.DictReader(fh, delimiter="\t"):
            rel = row["path"].strip()
            entries.append(Entry(target=rel.split("/", 1)[0], store_rel=rel, mirror_rel=f"sr-data/{rel}",
                                 sha256=_known(row["sha256"]), git_blob_sha1=None, url=row["source_url"].strip()))
    for folder in ("weights", "weights/zoo"):  # srbench's checkpoints, then the field's released files
        with open(_manifest_path(mirror, folder), newline="") as fh:
            for row in csv.DictReader(fh, delimiter="\t"):
                name = row["file"].strip()
                entries.append(Entry(target="weights", store_rel=f"{folder}/{name}", mirror_rel=f"{folder}/{name}",
                                     sha256=_known(row["sha256"]),
                                     git_blob_sha1=_known(row.get("git_blob_sha1", "")),
                                     url=row["source_url"].strip()))
    return entries


class _Offline(Exception):
    """The network is unreachable: stop trying it for the remaining files."""


class _Mismatch(Exception):
    """The streamed bytes are not the expected file: abandon the atomic write."""


def _atomic_fill(dest: Path, source, expected_sha: str) -> bool:
    """Stream the binary file object ``source`` into a temp file beside ``dest``; rename it to ``dest`` only if its
    sha256 is ``expected_sha``."""
    try:
        with atomic_path(dest, suffix=".part") as tmp:
            os.chmod(tmp, 0o644)  # writable copy, whatever the (read-only) mirror's mode
            digest = hashlib.sha256()
            with open(tmp, "wb") as fh:
                for block in iter(lambda: source.read(1 << 20), b""):
                    digest.update(block)
                    fh.write(block)
            if digest.hexdigest() != expected_sha:
                raise _Mismatch
    except _Mismatch:  # the temporary file is gone, the destination untouched
        return False
    return True


def _copy_from_mirror(src: Path, dest: Path, sha: str) -> bool:
    with open(src, "rb") as fh:
        return _atomic_fill(dest, fh, sha)


def _download(url: str, dest: Path, sha: str) -> bool:
    """Download ``url`` into ``dest`` (sha256-checked); raises ``_Offline`` when the network cannot be reached."""
    try:
        resp = urllib.request.urlopen(url, timeout=DOWNLOAD_TIMEOUT_S)
    except urllib.error.HTTPError:
        return False  # the server answered: this file is gone, the network is fine
    except (urllib.error.URLError, OSError) as exc:
        raise _Offline(str(exc)) from None
    try:
        with resp:
            return _atomic_fill(dest, resp, sha)
    except (urllib.error.URLError, TimeoutError, ConnectionError, http.client.HTTPException):
        return False  # broke off mid-transfer: reported as a failed download; disk errors still propagate


def _check_unknown_sha(entry: Entry, dest: Path, report: FetchReport) -> None:
    """Rows without a sha256: never fetched; a file the user placed is checked by its git blob sha1."""
    if not dest.is_file():
        check = f" and check its git blob sha1 is {entry.git_blob_sha1}" if entry.git_blob_sha1 else ""
        report.notes.append(f"{entry.store_rel}: not fetched (sha256 unknown); to use it, place it at {dest}{check}")
    elif entry.git_blob_sha1 and git_blob_sha1(dest) != entry.git_blob_sha1:
        report.notes.append(f"{entry.store_rel}: present but its git blob sha1 is not {entry.git_blob_sha1}; "
                            f"replace it with the file from {entry.url}")
    else:
        report.present += 1
        report.notes.append(f"{entry.store_rel}: present, verified by git blob sha1 (no sha256 known)")


def fetch_all(targets=TARGETS, mirror: str | os.PathLike | None = None, progress: bool = True, *,
              recheck: bool = False) -> FetchReport:
    """Make the store hold every manifest file of ``targets`` with the right sha256; return what was done.

    ``mirror`` defaults to ``srbench.core.store.mirror_root()`` ($SRBENCH_MIRROR or ../shared); a mirror folder that does not
    exist counts as none. ``recheck`` re-hashes every file instead of trusting the (size, mtime) cache. Raises
    SrbenchError when files are still missing after trying the mirror and the network.
    """
    unknown = set(targets) - set(TARGETS)
    if unknown:
        raise SrbenchError(f"unknown data target(s) {', '.join(sorted(unknown))}; known: {', '.join(TARGETS)}")
    mirror_dir = Path(mirror) if mirror is not None else mirror_root()
    if mirror_dir is not None and not mirror_dir.is_dir():
        mirror_dir = None
    store = store_root()
    report = FetchReport(store=store, mirror=mirror_dir)
    entries = [e for e in read_manifests(mirror_dir) if e.target in targets]
    hashes = HashCache(store / CACHE_NAME)
    offline = False
    try:
        for entry in tqdm(entries, desc="srbench data", unit="file", disable=not progress):
            report.checked += 1
            dest = store / entry.store_rel
            if entry.sha256 is None:
                _check_unknown_sha(entry, dest, report)
                continue
            if dest.is_file() and hashes.sha256(dest, recheck=recheck) == entry.sha256:
                report.present += 1
                continue
            src = mirror_dir / entry.mirror_rel if mirror_dir is not None else None
            if src is not None and src.is_file():
                if _copy_from_mirror(src, dest, entry.sha256):
                    report.copied.append(entry.store_rel)
                    hashes.sha256(dest)
                    continue
                report.notes.append(f"{src}: sha256 differs from the manifest; the mirror copy was not used")
            if entry.url and not entry.url.startswith(("https://", "http://")):
                report.notes.append(f"{entry.store_rel}: no download URL; get it from: {entry.url}")
            elif not offline and entry.url:
                try:
                    if _download(entry.url, dest, entry.sha256):
                        report.downloaded.append(entry.store_rel)
                        hashes.sha256(dest)
                        continue
                    report.notes.append(f"{entry.url}: download failed or its sha256 differs from the manifest")
                except _Offline as exc:
                    offline = True
                    report.notes.append(f"network unreachable ({exc}); not downloading")
            report.missing.append(entry.store_rel)
    finally:
        hashes.save()
    if report.missing:
        where = f"mirror {mirror_dir} lacks them" if mirror_dir is not None else "no mirror (SRBENCH_MIRROR unset)"
        net = "the network is unreachable" if offline else "their download failed"
        source = next(e.url for e in entries if e.store_rel == report.missing[0])
        raise SrbenchError(f"{len(report.missing)} of {report.checked} data files are missing or corrupt in {store} "
                           f"(first: {report.missing[0]}, from {source}); {where} and {net}: "
                           f"set SRBENCH_MIRROR=/path/to/shared (with sr-data/ and weights/) or run with network "
                           f"access")
    return report


def run_data_command(args=None) -> int:
    """CLI body for ``srbench data``: fill the store, print the summary and notes; returns the exit status.

    ``args`` may carry ``targets`` (list), ``mirror`` (path), ``recheck`` (bool) and ``quiet`` (bool).
    """
    targets = tuple(getattr(args, "targets", None) or TARGETS)
    report = fetch_all(targets, mirror=getattr(args, "mirror", None), progress=not getattr(args, "quiet", False),
                       recheck=bool(getattr(args, "recheck", False)))
    for note in report.notes:
        print(f"note: {note}")
    print(report.summary())
    return 0

