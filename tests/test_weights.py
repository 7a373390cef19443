"""Checkpoint catalogue and loading, against the mirror's MANIFEST.tsv and key listings (independent of the code)."""

from __future__ import annotations

import dataclasses
import re
import shutil
from pathlib import Path

import pytest
import torch

from srbench.core.errors import SrbenchError
from srbench.core.store import mirror_root, weights_dir
from srbench.models import create_model
from srbench.models.complexity import count_params
from srbench.models.field import field_records
from srbench.models.weights import (CATALOGUE, file_sha256, get_weights, load_checkpoint, verify_file,
                            weights_file)

# srbench's own checkpoints (the mirror's weights/MANIFEST.tsv and key listings); the field's released files are
# checked against weights/zoo/MANIFEST.tsv by tests/test_field.py and tests/test_catalogue_schema.py
OWN = {name: record for name, record in CATALOGUE.items() if name not in field_records()}
AVAILABLE = sorted(name for name, record in OWN.items() if record.sha256)
# Parameters in each file (BatchNorm running statistics excluded), from ARCHITECTURES.md.
FILE_PARAMS = {"carn": 1_591_963, "carn_m": 414_811, "ecdn": 694_555, "ecdn_m": 417_499}


def _one_line(exc: pytest.ExceptionInfo) -> str:
    message = str(exc.value)
    assert "\n" not in message
    return message


def _stored(filename: str) -> Path:
    path = weights_dir() / filename
    if not path.is_file():
        pytest.skip(f"{path} is not in the store (run `make data`)")
    return path


def _mirror_file(name: str) -> Path:
    root = mirror_root()
    path = root / "weights" / name if root else None
    if path is None or not path.is_file():
        pytest.skip(f"weights/{name} not found in the mirror ({root}); set SRBENCH_MIRROR")
    return path


def _manifest() -> dict[str, dict[str, str]]:
    lines = _mirror_file("MANIFEST.tsv").read_text().splitlines()
    header = lines[0].split("\t")
    return {row[0]: dict(zip(header, row)) for row in (line.split("\t") for line in lines[1:] if line.strip())}


def _key_listing(name: str) -> dict[str, dict[str, tuple]]:
    """Parse a key listing (``===== <file> ...`` sections of ``key (shape) dtype`` lines) into {file: {key: ...}}."""
    sections: dict[str, dict[str, tuple]] = {}
    current = sections.setdefault(name, {})
    for line in _mirror_file(name).read_text().splitlines():
        if line.startswith("====="):
            current = sections.setdefault(line.split()[1], {})
        elif m := re.match(r"\s+(\S+)\s+\(([\d, ]*)\)\s+(\S+)$", line):
            current[m[1]] = (tuple(int(d) for d in m[2].replace(",", " ").split()), m[3])
    return sections


def _model_keys(model: torch.nn.Module) -> dict[str, tuple]:
    return {k: (tuple(v.shape), str(v.dtype)) for k, v in model.state_dict().items()}


def test_catalogue_matches_manifest():
    manifest = _manifest()
    assert set(OWN) == {row.removesuffix(".pth") for row in manifest if not row.startswith("lpips")}
    for record in OWN.values():
        row = manifest[record.filename]
        assert record.git_blob_sha1 == row["git_blob_sha1"]
        assert record.url == row["source_url"]
        assert record.sha256 == (row["sha256"] if re.fullmatch(r"[0-9a-f]{64}", row["sha256"]) else None)
        assert record.bytes == (int(row["bytes"]) if row["bytes"].isdigit() else None)


@pytest.mark.parametrize("name", sorted(OWN))
def test_architecture_keys_match_listing(name):
    # the released files' keys (STATE_DICT_KEYS.txt), and the full CARN's expected keys (its file is not mirrored)
    listing = "CARN_FULL_EXPECTED_KEYS.txt" if name == "carn" else "STATE_DICT_KEYS.txt"
    expected = _key_listing(listing)[listing if name == "carn" else f"{name}.pth"]
    record = CATALOGUE[name]
    assert _model_keys(create_model(record.arch, **record.build)) == expected


@pytest.mark.parametrize("name", AVAILABLE)
def test_strict_load_of_released_checkpoint(name):
    record = CATALOGUE[name]
    path = _stored(record.filename)
    model = create_model(record.arch, weights=name)
    state = torch.load(path, map_location="cpu", weights_only=True)
    assert all(torch.equal(model.state_dict()[k], v) for k, v in state.items())
    assert count_params(model) == record.params == FILE_PARAMS[record.arch]


def test_load_by_path():
    path = _stored("ecdn_m.pth")
    model = load_checkpoint(create_model("ecdn_m"), path, sha256=_manifest()["ecdn_m.pth"]["sha256"])
    assert torch.equal(model.c4.body[0].weight, torch.load(path, map_location="cpu", weights_only=True)["c4.body.0.weight"])


def test_truncated_checkpoint(tmp_path):
    data = _stored("ecdn_m.pth").read_bytes()
    broken = tmp_path / "ecdn_m.pth"
    broken.write_bytes(data[: len(data) // 2])
    with pytest.raises(SrbenchError) as exc:
        load_checkpoint(create_model("ecdn_m"), broken)
    message = _one_line(exc)
    assert str(broken) in message and "not a readable PyTorch checkpoint" in message


def test_wrong_architecture():
    path = _stored("carn_m.pth")
    with pytest.raises(SrbenchError) as exc:
        load_checkpoint(create_model("ecdn"), path)
    message = _one_line(exc)
    assert str(path) in message and "'ecdn'" in message
    assert "missing keys" in message and "unexpected keys" in message


def test_wrong_group_reports_shape_mismatch():
    path = _stored("carn_m.pth")
    with pytest.raises(SrbenchError) as exc:
        load_checkpoint(create_model("carn_m", group=2), path)
    # grouped 3x3 convs: 64 / 4 = 16 input channels per filter in the file, 64 / 2 = 32 in the model
    assert "shape mismatch" in _one_line(exc) and "file (64, 16, 3, 3) vs model (64, 32, 3, 3)" in str(exc.value)


def test_checksum_mismatch(tmp_path):
    actual = _manifest()["carn_m.pth"]["sha256"]
    path = _stored("carn_m.pth")
    with pytest.raises(SrbenchError) as exc:
        load_checkpoint(create_model("carn_m"), path, sha256="0" * 64)
    message = _one_line(exc)
    assert str(path) in message and "0" * 64 in message and actual in message

    tampered = tmp_path / "carn_m.pth"
    shutil.copyfile(path, tampered)
    with open(tampered, "r+b") as f:
        f.seek(1000)
        byte = f.read(1)
        f.seek(1000)
        f.write(bytes([byte[0] ^ 0xFF]))
    with pytest.raises(SrbenchError, match="sha256 mismatch") as exc:
        verify_file(tampered, get_weights("carn_m"))
    assert actual in str(exc.value) and str(tampered) in str(exc.value)


def test_git_blob_sha1_is_verified_when_sha256_is_unknown(tmp_path):
    path = _stored("carn_m.pth")
    assert file_sha256(path) == _manifest()["carn_m.pth"]["sha256"]
    blob_only = dataclasses.replace(get_weights("carn_m"), sha256=None)
    verify_file(path, blob_only)  # git blob sha1 from MANIFEST.tsv
    with pytest.raises(SrbenchError, match="git blob sha1 mismatch"):
        verify_file(path, dataclasses.replace(blob_only, git_blob_sha1="f" * 40))


def test_missing_file_says_how_to_get_it(tmp_path, monkeypatch):
    monkeypatch.setenv("SRBENCH_STORE", str(tmp_path))
    with pytest.raises(SrbenchError) as exc:
        weights_file(get_weights("ecdn"))
    message = _one_line(exc)
    assert "make data" in message and "SRBENCH_MIRROR" in message and "ecdn.pth" in message
    # CARN's file has no known sha256, so `make data` never fetches it: the message says to place it by hand
    with pytest.raises(SrbenchError) as exc:
        weights_file(get_weights("carn"))
    message = _one_line(exc)
    assert "cannot fetch it" in message and "carn.pth" in message
    assert "2b9fb1eb75a2fdd47c1a4cc75bc505a8fa4fb504" in message


def test_unknown_weights_name_suggests_closest():
    with pytest.raises(SrbenchError) as exc:
        get_weights("ecdn_m_halff")
    assert "did you mean 'ecdn_m_half'" in _one_line(exc)


def test_weights_for_another_architecture_are_refused():
    with pytest.raises(SrbenchError, match="'carn_m'"):
        create_model("ecdn", weights="carn_m")


def test_carn_paper_reference_values():
    # a spot check of the transcribed CARN paper table (calibration.md)
    assert CATALOGUE["carn_m"].metrics["Set5"][2] == (37.53, 0.9583)
    assert CATALOGUE["carn"].metrics["Urban100"][4] == (26.07, 0.7837)
    assert "ECCV 2018" in CATALOGUE["carn"].metrics["source"]
