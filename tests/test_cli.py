"""The command line: JSON output, one-line errors with exit status 2, help for every command."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from srbench.cli import COMMANDS, main

REPO = Path(__file__).resolve().parent.parent


def _run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "srbench.cli", *args], cwd=REPO, capture_output=True, text=True,
                          timeout=300)


def test_evaluate_json(benchmark_root, capsys):
    assert main(["evaluate", "--model", "bicubic", "--dataset", "Set5", "--scale", "4", "--json",
                 "--no-progress"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert len(out) == 1
    cell = out[0]
    assert cell["model"] == "bicubic" and cell["dataset"] == "Set5" and cell["scale"] == 4
    assert cell["protocol"]["name"] == "standard" and cell["protocol"]["border"] == "scale"
    assert [r["name"] for r in cell["images"]] == ["baby", "bird", "butterfly", "head", "woman"]
    assert cell["psnr"] == pytest.approx(28.429, abs=0.01)  # calibration.md, bicubic Set5 x4


@pytest.mark.parametrize("args,needle", [
    (["evaluate", "--model", "ecnd", "--dataset", "Set5"], "did you mean 'ecdn'"),
    (["evaluate", "--model", "bicubic", "--dataset", "Set6"], "Set6"),
    (["evaluate", "--model", "ecdn", "--weights", "carn_m"], "carn_m"),
    (["benchmark", "no/such/file.yaml"], "does not exist"),
])
def test_errors_are_one_line(args, needle, capsys, benchmark_root):
    assert main(args + ["--no-progress"] if args[0] == "evaluate" else args) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and needle in err and "\n" not in err and "Traceback" not in err


def test_corrupt_checkpoint_via_cli(tmp_path, capsys, benchmark_root):
    bad = tmp_path / "broken.pth"
    bad.write_bytes(b"not a checkpoint at all")
    assert main(["evaluate", "--model", "ecdn", "--weights", str(bad), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert "broken.pth" in err and "\n" not in err.strip()


def test_help_lists_every_command():
    out = _run("--help").stdout
    for name in COMMANDS:
        assert name in out
    assert "--bn-mode" in _run("evaluate", "--help").stdout


@pytest.mark.parametrize("given, expected", [(None, "PASSIVE"), ("ACTIVE", "ACTIVE")])
def test_openmp_workers_sleep_as_under_make_unless_the_user_says(monkeypatch, given, expected):
    """srbench run by hand sets OMP_WAIT_POLICY=PASSIVE as the Makefile does (before torch loads OpenMP), and keeps
    a value the user set."""
    if given is None:
        monkeypatch.delenv("OMP_WAIT_POLICY", raising=False)
    else:
        monkeypatch.setenv("OMP_WAIT_POLICY", given)
    with pytest.raises(SystemExit):
        main(["--help"])
    assert os.environ["OMP_WAIT_POLICY"] == expected
