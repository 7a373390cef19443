"""srbench explain (srbench.eval.explain, srbench.commands.explain, srbench.track.explain_log): one forward pass per
distinct network input, rows equal to what evaluate() measures under each protocol, the published-number match, the
CLI's outputs and its MLflow run."""

from __future__ import annotations

import hashlib
import json

import pytest
from torch import nn

from srbench.cli import main
from srbench.data import lr_generators
from srbench.data.datasets import load_samples
from srbench.eval.evaluate import evaluate
from srbench.eval.explain import (Deviation, Printed, Row, deviations, explain_cell, lr_inputs, match_published,
                                  pair_deviations)
from srbench.eval.protocol import get_protocol
from srbench.models import create_model, set_bn_mode

STANDARD = get_protocol("standard")
N_LR_INPUTS = 11 if lr_generators.available("opencv") else 9  # file, 5 generators, 5 without mod-crop


def _distinct_inputs(dataset, scale: int) -> int:
    """How many forward passes explain must run: the distinct (LR pixels, HR pixels) of each image over every LR
    input, counted here from the decoded arrays with sha256 (two generators that make the same pixels are one input)."""
    seen: dict[str, set] = {}
    for source in lr_inputs():
        for s in load_samples(dataset, scale, lr_source=source):
            seen.setdefault(s.name, set()).add((s.lr.shape, hashlib.sha256(s.lr.tobytes()).hexdigest(),
                                                s.hr.shape, hashlib.sha256(s.hr.tobytes()).hexdigest()))
    assert len(seen) == 3
    return sum(len(v) for v in seen.values())


class Counting(nn.Module):
    """Wraps a model and counts its forward calls (one per image and network input)."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model, self.calls = model, 0

    def forward(self, x, scale):
        self.calls += 1
        return self.model(x, scale)


class TinyBN(nn.Module):
    """A network with BatchNorm: its BN mode changes its output, so explain measures ``bn_mode`` for it."""

    scales = (2, 3, 4)

    def __init__(self) -> None:
        super().__init__()
        self.bn = nn.BatchNorm2d(3)
        self.bn.running_mean.fill_(0.4)

    def forward(self, x, scale):
        y = nn.functional.interpolate(x, scale_factor=scale, mode="nearest")
        return (0.9 * y + 0.1 * self.bn(y)).clamp(0, 1)


def _same(a: float, b: float) -> bool:
    return a == b or abs(a - b) < 1e-12


def test_one_forward_pass_per_distinct_network_input(tiny_dataset):
    counted = Counting(create_model("bicubic"))
    singles = deviations(STANDARD, has_bn=False)
    out = explain_cell(lambda bn: counted, tiny_dataset, 2, base=STANDARD,
                       variants=singles + pair_deviations(singles), progress=False)
    distinct = _distinct_inputs(tiny_dataset, 2)
    assert 3 < distinct < 3 * N_LR_INPUTS  # the shipped LR is MATLAB's: the MATLAB generator makes the same pixels
    assert counted.calls == out.forward_passes == distinct  # pairs cost no pass


def test_bn_mode_is_one_more_pass_per_image(tiny_dataset):
    net = TinyBN()
    counted = Counting(net)
    modes = []

    def runner_for(bn_mode):
        modes.append(bn_mode)
        set_bn_mode(net, bn_mode)
        return counted

    singles = deviations(STANDARD, has_bn=True)
    assert [d.value for d in singles if d.knob == "bn_mode"] == ["batch"]
    pairs = pair_deviations(singles)
    assert pairs and not [p for p in pairs if "bn_mode" in p.knob or "lr_input" in p.knob]  # need no new pass
    out = explain_cell(runner_for, tiny_dataset, 2, base=STANDARD, variants=singles + pairs, progress=False)
    assert counted.calls == _distinct_inputs(tiny_dataset, 2) + 3 and sorted(modes) == ["batch", "eval"]  # + batch
    row = {r.deviation.label: r for r in out.rows}["bn_mode: batch"]
    set_bn_mode(net, "batch")
    ref = evaluate(net, tiny_dataset, 2, STANDARD.with_(bn_mode="batch"), progress=False)
    assert _same(row.psnr, ref.psnr) and _same(row.ssim, ref.ssim) and row.d_psnr != 0


def test_rows_equal_evaluate_under_each_protocol(tiny_dataset):
    """The shared, memoised path gives exactly evaluate()'s numbers (tiny_dataset has a gray image)."""
    model = create_model("bicubic")
    singles = deviations(STANDARD, has_bn=False)
    pairs = pair_deviations(singles)
    picked = [d for d in singles + pairs if d.label in (
        "gray: raw", "luma: bt601_full", "aggregate: dataset_mse", "ssim: skimage", "lr_input: pil/full",
        "border: 0", "color: rgb", "gray + border: raw + 0", "quantize + aggregate: float + dataset_mse",
        "lr_input: generate", "lr_input: pil", "lr_input: generate/full")]
    assert len(picked) == 12  # with LR inputs that share pixels with the shipped file or with each other
    out = explain_cell(lambda bn: model, tiny_dataset, 2, base=STANDARD, variants=picked, progress=False)
    for row in out.rows:
        ref = evaluate(model, tiny_dataset, 2, row.deviation.protocol(STANDARD), progress=False)
        assert _same(row.psnr, ref.psnr) and _same(row.ssim, ref.ssim), row.deviation.label
        assert _same(row.d_psnr, row.psnr - out.rows[0].psnr)


def test_deviation_lists():
    singles = deviations(STANDARD, has_bn=False)
    labels = {d.label for d in singles}
    assert {"gray: raw", "color: rgb", "luma: bt601_full", "quantize: truncate", "quantize: float",
            "ssim: skimage", "aggregate: dataset_mse", "border: 0", "lr_input: generate", "lr_input: pil",
            "lr_input: torch", "lr_input: torch_aa", "lr_input: torch/full"} <= labels
    assert "lr_input: file" not in labels and not any(d.knob == "bn_mode" for d in singles)
    assert not any(d.knob == "luma" for d in deviations(STANDARD.with_(color="rgb"), has_bn=False))
    pairs = pair_deviations(singles)
    assert not any("luma" in p.knob and "rgb" in p.value for p in pairs)
    assert not any("lr_input" in p.knob or "bn_mode" in p.knob for p in pairs)
    assert len(pairs) == 26  # 8 measuring values of 7 knobs: C(8, 2) - quantize twice - luma with rgb


def test_missing_optional_package_leaves_its_variants_out(monkeypatch):
    monkeypatch.setattr(lr_generators, "available", lambda name: name != "opencv")
    notes = []
    singles = deviations(STANDARD, has_bn=False, notes=notes)
    assert not any("opencv" in d.value for d in singles)
    assert len(notes) == 1 and "opencv-python-headless" in notes[0]


def _row(label, psnr, ssim, pair=False):
    if label == "standard":
        return Row(Deviation("standard", "-"), psnr, ssim)
    knob, value = label.split(": ")
    return Row(Deviation(knob, value, (("x", value),)), psnr, ssim)


def test_match_published_exact_and_nearest():
    rows = [_row("standard", 26.088, 0.7048), _row("gray: raw", 25.994, 0.7029), _row("border: 0", 25.884, 0.7055),
            _row("a + b: 1 + 2", 26.004, 0.70274)]
    m = match_published(rows, Printed.parse("26.00/0.7027"))
    assert m.exact == [rows[3]]  # 26.004 -> 26.00, 0.70274 -> 0.7027
    m = match_published(rows[:3], Printed.parse("26.00/0.7027"))
    assert m.exact == [] and m.nearest is rows[1] and m.nearest_pair is None
    dp, ds = m.residual(rows[1])
    assert dp == pytest.approx(0.006) and ds == pytest.approx(-0.0002)
    assert "nearest single knob is gray: raw" in m.lines()[0] and "+0.006 dB" in m.lines()[0]
    assert match_published(rows, Printed.parse("26.09")).exact == [rows[0]]  # PSNR only


@pytest.mark.parametrize("bad", ["26", "x/0.7", "26.00/1.5", "1/2/3", "-3.0"])
def test_printed_parse_errors(bad):
    from srbench.core.errors import SrbenchError

    if bad == "26":
        assert Printed.parse(bad).psnr_decimals == 0
        return
    with pytest.raises(SrbenchError, match="--published"):
        Printed.parse(bad)


def test_cli_json_and_log(tiny_dataset, mlflow_uri, capsys):
    from srbench.track import tracking

    args = ["explain", "--model", "bicubic", "--dataset", str(tiny_dataset), "--scale", "2", "--no-progress",
            "--published", "30.00/0.9000"]
    assert main(args + ["--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["forward_passes"] == _distinct_inputs(tiny_dataset, 2) and out["rows"][0]["knob"] == "standard"
    assert out["match"]["nearest"]["label"] in {f"{r['knob']}: {r['value']}" for r in out["rows"]}
    assert main(args + ["--log", "--pairs"]) == 0
    captured = capsys.readouterr()
    assert "| knob" in captured.out and "logged as run" in captured.err
    client = tracking.client(mlflow_uri)
    exp = client.get_experiment_by_name("explain")
    runs = client.search_runs([exp.experiment_id])
    assert len(runs) == 1 and runs[0].info.status == "FINISHED"
    assert runs[0].data.tags["srbench.kind"] == "explain" and runs[0].data.tags["srbench.explain_pairs"] == "1"
    assert runs[0].data.metrics["forward_passes"] == _distinct_inputs(tiny_dataset, 2)
    from srbench.track.explain_log import load_table, rows_from_table

    rows = rows_from_table(load_table(client, runs[0].info.run_id))
    assert any(r.deviation.is_pair for r in rows) and rows[0].deviation.label == "standard"
    assert main(args + ["--log", "--pairs"]) == 0  # same cell: reused
    assert "already logged" in capsys.readouterr().err
    assert len(client.search_runs([exp.experiment_id])) == 1


def test_cli_failure_is_not_logged_finished(tiny_dataset, mlflow_uri, monkeypatch, capsys):
    from srbench.eval import explain as explain_module
    from srbench.track import tracking

    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(explain_module, "ImageScorer", broken)
    with pytest.raises(RuntimeError):
        main(["explain", "--model", "bicubic", "--dataset", str(tiny_dataset), "--scale", "2", "--no-progress",
              "--log"])
    client = tracking.client(mlflow_uri)
    exp = client.get_experiment_by_name("explain")
    assert exp is None or all(r.info.status != "FINISHED" for r in client.search_runs([exp.experiment_id]))


def test_cli_without_opencv_still_runs(tiny_dataset, monkeypatch, capsys):
    monkeypatch.setattr(lr_generators, "available", lambda name: name != "opencv")
    assert main(["explain", "--model", "bicubic", "--dataset", str(tiny_dataset), "--scale", "3", "--no-progress",
                 "--json"]) == 0
    captured = capsys.readouterr()
    assert not any("opencv" in r["value"] for r in json.loads(captured.out)["rows"])
    assert "note: LR source 'opencv' left out" in captured.err


def test_bad_published_is_one_line(capsys):
    assert main(["explain", "--model", "bicubic", "--dataset", "Set5", "--published", "26,00"]) == 2
    assert capsys.readouterr().err.startswith("error: --published")


@pytest.mark.slow
@pytest.mark.slow
def test_bicubic_set14_x4_names_gray_raw(benchmark_root):
    """The issue's acceptance case: bicubic on Set14 x4 against the CARN paper's printed 26.00/0.7027 (read from
    the published record, bench/report/reference.py)."""
    from srbench.report.reference import BICUBIC

    psnr, ssim = BICUBIC.scores[("Set14", 4)]
    model = create_model("bicubic")
    out = explain_cell(lambda bn: model, "Set14", 4, base=STANDARD, variants=deviations(STANDARD, has_bn=False),
                       progress=False)
    m = match_published(out.rows, Printed.parse(f"{psnr:.2f}/{ssim:.4f}"))
    assert m.exact == [] and m.nearest.deviation.label == "gray: raw"
    assert abs(m.residual(m.nearest)[0]) < 0.01


def test_explain_file_loads_and_refuses_unknown_keys(tmp_path):
    from srbench.core.errors import SrbenchError
    from srbench.core.store import REPO_ROOT
    from srbench.track.explain_file import load_explain_file

    spec, entries = load_explain_file(REPO_ROOT / "experiments" / "explain.yaml")
    assert spec.name == "explain" and spec.datasets == ["Set14"] and spec.scales == [4] and spec.pairs
    assert [e.model for e in entries] == ["bicubic", "carn", "carn_m", "ecdn", "ecdn_m"]
    bad = tmp_path / "bad.yaml"
    bad.write_text("models: [{model: bicubic, weight: x}]\n")
    with pytest.raises(SrbenchError, match="unknown key 'weight'"):
        load_explain_file(bad)
    bad.write_text("models: [{model: bicubic}]\nscale: [4]\n")
    with pytest.raises(SrbenchError, match="unknown key 'scale'"):
        load_explain_file(bad)


def test_explain_file_skips_optional_entries(tmp_path, tiny_dataset, mlflow_uri, capsys):
    spec = tmp_path / "e.yaml"
    spec.write_text(f"name: ex\ndatasets: ['{tiny_dataset}']\nscales: [2]\npairs: false\nmodels:\n"
                    "  - {model: bicubic}\n  - {model: carn, weights: no_such_weights, optional: true}\n")
    assert main(["explain", str(spec), "--no-progress"]) == 0
    err = capsys.readouterr().err
    assert "skipped carn" in err and "logged as run" in err
    assert main(["explain", str(spec), "--model", "bicubic"]) == 2


class BreaksOnThird(nn.Module):
    """Gives NaN from its third forward call on: explain must stop with the forward pass's one-line error."""

    scales = (2, 3, 4)

    def __init__(self) -> None:
        super().__init__()
        self.calls = 0

    def forward(self, x, scale):
        self.calls += 1
        y = nn.functional.interpolate(x, scale_factor=scale, mode="nearest")
        return y * float("nan") if self.calls >= 3 else y


def test_a_broken_pass_stops_explain_with_its_error(tiny_dataset):
    """The passes run on a background thread: its error reaches the caller as the forward pass raised it, and no
    thread is left running."""
    import threading

    from srbench.core.errors import SrbenchError

    net = BreaksOnThird()
    with pytest.raises(SrbenchError, match="non-finite"):
        explain_cell(lambda bn: net, tiny_dataset, 2, base=STANDARD, variants=deviations(STANDARD, has_bn=False),
                     progress=False)
    assert not [t for t in threading.enumerate() if t.name == "srbench-ahead"]
    assert net.calls == 3  # nothing ran after the broken pass


class ThreadsSeen(nn.Module):
    """Records the torch thread count each forward pass runs under (on explain's passes' thread)."""

    def __init__(self, host_compute: bool) -> None:
        super().__init__()
        self.host_compute, self.seen = host_compute, []

    def forward(self, x, scale):
        import torch

        self.seen.append(torch.get_num_threads())
        return nn.functional.interpolate(x, scale_factor=scale, mode="nearest")


def test_host_models_pass_on_one_torch_thread_and_the_count_comes_back(tiny_dataset):
    """A model computing on the host in numpy (bicubic) runs its passes on one torch thread (its torch operators are
    conversions); a network keeps torch's count; the caller's count is restored after explain either way."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        for host, expected in ((True, 1), (False, 2)):
            net = ThreadsSeen(host)
            explain_cell(lambda bn, net=net: net, tiny_dataset, 2, base=STANDARD, variants=[], progress=False)
            assert net.seen and set(net.seen) == {expected}
            assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)
