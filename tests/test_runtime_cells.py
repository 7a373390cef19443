"""Runtimes in the benchmark: the same numbers on every runtime, the runtime in the cell key and tags, auto's cached
choice, declines, the runtime comparison table and ``--shard``.

References: the eager run of the same cell (an independent implementation of the same network: PyTorch against ONNX
Runtime / OpenVINO kernels), hand-computed latency ratios, and the unsharded plan.
"""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from srbench.core.errors import SrbenchError
from srbench.eval import runtimes as rt
from srbench.runtime_choice import cells, selection, use
from srbench.track import tracking
from srbench.track.experiment import load_experiment, narrow
from srbench.track.benchmark import plan, run_benchmark
from srbench.track.shard import parse_shard, shard_cells

REPO = Path(__file__).resolve().parent.parent
GRAPH_RUNTIMES = ("onnxruntime", "openvino")


def _experiment(tmp_path: Path, body: str, name: str = "rt", datasets: str = "[Set5]", scales: str = "[4]",
                measure: str = "{latency: false, memory: false}") -> Path:
    path = tmp_path / f"{name}.yaml"
    path.write_text(f"name: {name}\ndatasets: {datasets}\nscales: {scales}\ndevice: cpu\nmeasure: {measure}\n"
                    f"models:\n{body}")
    return path


def _runs(uri: str, name: str):
    client = tracking.client(uri)
    exp = client.get_experiment_by_name(name)
    return client, client.search_runs([exp.experiment_id], filter_string="tags.`srbench.kind` = 'cell'")


def _per_image(client, run_id: str, dataset: str) -> dict[str, float]:
    local = client.download_artifacts(run_id, f"per_image/{dataset}.csv")
    with open(local, newline="") as fh:
        return {row["name"]: float(row["psnr"]) for row in csv.DictReader(fh)}


# ---------------------------------------------------------------------------------------------------------------
# The same numbers on every runtime auto can pick


@pytest.mark.slow
def test_set5_cells_match_eager_on_every_runtime(tmp_path, benchmark_root, mlflow_uri):
    """Every released model at x4 on Set5, as benchmark cells on eager, ONNX Runtime and OpenVINO: each cell within
    0.002 dB PSNR and 0.00002 SSIM of eager's, each image within 0.002 dB; one key and tag per runtime."""
    body = "".join(f"  - {{model: {m}, weights: {m}, runtimes: [eager, onnxruntime, openvino]}}\n"
                   for m in ("carn_m", "ecdn", "ecdn_m"))
    exp = load_experiment(_experiment(tmp_path, body))
    outcomes = run_benchmark(exp, tracking_uri=mlflow_uri, progress=False, runtime_cache=tmp_path / "cache")
    assert sorted(o.status for o in outcomes) == ["computed"] * 9
    client, runs = _runs(mlflow_uri, "rt")
    by = {(r.data.tags["srbench.model"], r.data.tags["srbench.runtime"]): r for r in runs}
    assert len(by) == 9 and len({r.data.tags["srbench.cell_key"] for r in runs}) == 9  # the runtime is in the key
    for model in ("carn_m", "ecdn", "ecdn_m"):
        eager = by[(model, "eager")]
        eager_images = _per_image(client, eager.info.run_id, "Set5")
        assert len(eager_images) == 5
        for runtime in GRAPH_RUNTIMES:
            run = by[(model, runtime)]
            tags, m = run.data.tags, run.data.metrics
            assert run.data.params["runtime"] == runtime and tags["srbench.runtime_requested"] == runtime
            assert tags["srbench.runtime_compare"] == "1"
            assert f"{runtime}=" in tags["srbench.runtime_versions"] and "onnx=" in tags["srbench.runtime_versions"]
            assert "passes the fidelity gate" in tags["srbench.runtime_gate"], tags["srbench.runtime_gate"]
            assert m["psnr_y.Set5"] == pytest.approx(eager.data.metrics["psnr_y.Set5"], abs=0.002)
            assert m["ssim_y.Set5"] == pytest.approx(eager.data.metrics["ssim_y.Set5"], abs=0.00002)
            images = _per_image(client, run.info.run_id, "Set5")
            assert images.keys() == eager_images.keys()
            for name, value in images.items():
                assert value == pytest.approx(eager_images[name], abs=0.002), (model, runtime, name)
            assert m["params"] == eager.data.metrics["params"]  # complexity counts the network, not the runtime
            assert m["mult_adds_g"] == eager.data.metrics["mult_adds_g"]
    # calibration.md's Set5 means (measured outside this project) hold on the graph runtimes too
    assert by[("carn_m", "openvino")].data.metrics["psnr_y.Set5"] == pytest.approx(31.883, abs=0.01)
    assert by[("ecdn", "onnxruntime")].data.metrics["psnr_y.Set5"] == pytest.approx(31.750, abs=0.01)


# ---------------------------------------------------------------------------------------------------------------
# auto: chosen once, cached, logged; declines fall back


def _count(monkeypatch, name: str) -> list:
    """Count calls of ``name`` from the runtime choice's modules (selection, use and cells) that call it."""
    calls = []
    for module in (selection, use, cells):
        if not hasattr(module, name):
            continue
        real = getattr(module, name)

        def counting(*args, _real=real, **kwargs):
            calls.append(args[1] if name == "prepare_runtime" and len(args) > 1 else kwargs.get("runtime", name))
            return _real(*args, **kwargs)

        monkeypatch.setattr(module, name, counting)
    return calls


@pytest.mark.slow
def test_auto_warm_rerun_reuses_cells_and_does_not_probe(tmp_path, tiny_dataset, mlflow_uri, monkeypatch, capsys):
    path = _experiment(tmp_path, "  - {model: carn_m, weights: carn_m}\n", name="auto", datasets=f"[{tiny_dataset}]",
                       scales="[2]", measure="{latency: true, warmup: 0, repeats: 2, memory: false, "
                                             "out_height: 48, out_width: 48}")
    cache = tmp_path / "cache"
    selects = _count(monkeypatch, "select_runtime_apart")  # the benchmark probes in a child process on CPU
    first = run_benchmark(load_experiment(path), tracking_uri=mlflow_uri, progress=False, runtime_cache=cache)
    assert [o.status for o in first] == ["computed"] and len(selects) == 1
    printed = [line for line in capsys.readouterr().out.splitlines() if line.startswith("runtime for carn_m")]
    assert len(printed) == 1 and "timed probe" in printed[0]
    _, [run] = _runs(mlflow_uri, "auto")
    tags = run.data.tags
    chosen = tags["srbench.runtime"]
    assert chosen in ("eager", *GRAPH_RUNTIMES) and tags["srbench.runtime_requested"] == "auto"
    assert tags["srbench.runtime_choice"].startswith(f"auto carn_m x2 (bn=eval): {chosen} (timed probe")
    assert "\n" not in tags["srbench.runtime_choice"] and tags["srbench.runtime_gate"]
    assert run.data.metrics["latency_ms"] > 0
    [choice] = (cache / "runtime-choices").glob("*.json")

    prepares = _count(monkeypatch, "prepare_runtime")
    again = run_benchmark(load_experiment(path), tracking_uri=mlflow_uri, progress=False, runtime_cache=cache)
    assert [o.status for o in again] == ["cached"] and again[0].run_id == run.info.run_id
    assert len(selects) == 1 and prepares == [], "a warm rerun must neither probe nor prepare a runtime"
    assert "cached choice" in capsys.readouterr().out
    choice.unlink()  # without the cached choice, the store's record of it (on the cell run) is taken: no probe
    again = run_benchmark(load_experiment(path), tracking_uri=mlflow_uri, progress=False, runtime_cache=cache)
    assert len(selects) == 1 and [o.status for o in again] == ["cached"] and choice.is_file()


@pytest.mark.slow
def test_declining_runtime_under_auto_falls_back_with_a_note(tmp_path, tiny_dataset, mlflow_uri, monkeypatch,
                                                             capsys):
    real = rt.prepare_runtime

    def prepare(model, runtime, **kw):
        if runtime == "openvino" and kw.get("bn_mode") == "batch":
            raise rt.RuntimeDeclined("openvino", "per-image BatchNorm is not supported (test)")
        return real(model, runtime, **kw)

    for module in (selection, use):
        monkeypatch.setattr(module, "prepare_runtime", prepare)
    monkeypatch.setattr(cells, "select_runtime_apart",  # the patch must reach the probe, so it runs in this process
                        lambda model, count=None, **kw: selection.select_runtime(model, **kw))
    path = _experiment(tmp_path, "  - {model: ecdn_m, weights: ecdn_m, bn_modes: [batch]}\n", name="fb",
                       datasets=f"[{tiny_dataset}]", scales="[2]")
    [outcome] = run_benchmark(load_experiment(path), tracking_uri=mlflow_uri, progress=False,
                              runtime_cache=tmp_path / "cache")
    assert outcome.status == "computed"
    _, [run] = _runs(mlflow_uri, "fb")
    note = "openvino x2: declined: per-image BatchNorm is not supported (test)"
    assert run.data.tags["srbench.runtime"] != "openvino" and note in run.data.tags["srbench.runtime_choice"]
    assert note in capsys.readouterr().out


def test_declared_runtime_that_declines_is_a_one_line_error(tmp_path, tiny_dataset, mlflow_uri):
    path = _experiment(tmp_path, "  - {model: bicubic, runtime: onnxruntime}\n", name="dec",
                       datasets=f"[{tiny_dataset}]", scales="[2]")
    with pytest.raises(SrbenchError, match=r"runtime 'onnxruntime' cannot serve bicubic x2 \(bn=eval\): .*no "
                                           r"parameters.*runtime: auto") as exc:
        run_benchmark(load_experiment(path), tracking_uri=mlflow_uri, progress=False,
                      runtime_cache=tmp_path / "cache")
    assert "\n" not in str(exc.value)
    # in a comparison list the same runtime skips that cell with a note; the others run
    path.write_text(path.read_text().replace("runtime: onnxruntime", "runtimes: [eager, onnxruntime]"))
    outcomes = run_benchmark(load_experiment(path), tracking_uri=mlflow_uri, progress=False,
                             runtime_cache=tmp_path / "cache")
    assert sorted(o.status for o in outcomes) == ["computed", "skipped"]
    skipped = next(o for o in outcomes if o.status == "skipped")
    assert skipped.note.startswith("runtime onnxruntime: ") and "no parameters" in skipped.note


def test_runtime_names_are_checked(tmp_path):
    with pytest.raises(SrbenchError, match="unknown runtime 'openvin'.*did you mean 'openvino'"):
        load_experiment(_experiment(tmp_path, "  - {model: bicubic, runtime: openvin}\n"))
    with pytest.raises(SrbenchError, match="runtime or runtimes, not both"):
        load_experiment(_experiment(tmp_path, "  - {model: bicubic, runtime: eager, runtimes: [eager]}\n"))
    exp = load_experiment(_experiment(tmp_path, "  - {model: bicubic, runtime: eager}\n"))
    assert exp.runtime == "auto"
    assert narrow(exp, runtimes=["eager", "openvino"]).models[0].runtimes == ["eager", "openvino"]
    assert narrow(exp, runtime="openvino").models[0].runtime is None and narrow(exp, runtime="openvino").runtime \
        == "openvino"
    with pytest.raises(SrbenchError, match="--runtime: unknown runtime 'fast'"):
        narrow(exp, runtime="fast")


# ---------------------------------------------------------------------------------------------------------------
# --shard


def _ids(cells) -> list[tuple]:
    return [(c.entry.display, c.weights.name, c.scale, c.bn_mode, c.runtime, tuple(c.datasets)) for c in cells]


def test_shards_partition_the_plan(benchmark_root):
    exp = narrow(load_experiment(REPO / "experiments" / "benchmark.yaml"), runtimes=["eager", "openvino"])
    cells, _ = plan(exp)
    everything = _ids(cells)
    assert len(everything) == len(set(everything)) > 40
    for n in (1, 2, 3, 7):
        parts = [_ids(shard_cells(cells, k, n)) for k in range(1, n + 1)]
        assert sorted(sum(parts, [])) == sorted(everything)  # each cell in exactly one shard
        for part in parts:
            assert part == [c for c in everything if c in part]  # planned order kept
        owner = {}
        for k in range(1, n + 1):  # a cell group (network, BN mode, scale) lies in one shard
            for cell in shard_cells(cells, k, n):
                assert owner.setdefault((*cell.network, cell.bn_mode, cell.scale), k) == k
    one, two = shard_cells(cells, 1, 2), shard_cells(cells, 2, 2)
    assert one and two and abs(len({c.shard_unit for c in one}) - len({c.shard_unit for c in two})) <= 1


def test_parse_shard():
    assert parse_shard("2/4") == (2, 4) and parse_shard(" 1 / 1 ") == (1, 1)
    for bad in ("0/2", "3/2", "2", "a/b", "1/0"):
        with pytest.raises(SrbenchError, match="--shard") as exc:
            parse_shard(bad)
        assert "\n" not in str(exc.value)


@pytest.mark.slow
def test_sharded_runs_fill_one_store(tmp_path, tiny_dataset, mlflow_uri):
    """Shards 1/2 and 2/2 into one store: together they are the unsharded benchmark, which then reuses every cell."""
    path = _experiment(tmp_path, "  - {model: bicubic}\n  - {model: bicubic, protocol: paper_gray}\n", name="sh",
                       datasets=f"[{tiny_dataset}]", scales="[2, 3, 4]")
    exp = load_experiment(path)
    a = run_benchmark(exp, tracking_uri=mlflow_uri, progress=False, shard=(1, 2), runtime_cache=tmp_path / "c")
    b = run_benchmark(exp, tracking_uri=mlflow_uri, progress=False, shard=(2, 2), runtime_cache=tmp_path / "c")
    assert len(a) == 4 and len(b) == 2  # groups x2, x3, x4 -> shards 1, 2, 1; each group has both protocols
    assert {o.status for o in a + b} == {"computed"}
    whole = run_benchmark(exp, tracking_uri=mlflow_uri, progress=False, runtime_cache=tmp_path / "c")
    assert len(whole) == 6 and {o.status for o in whole} == {"cached"}
    assert {o.run_id for o in whole} == {o.run_id for o in a + b}


# ---------------------------------------------------------------------------------------------------------------
# The report: the runtime comparison table, and the main tables' runtime


def test_runtime_comparison_table(tmp_path, mlflow_uri):
    from mlflow.entities import Metric

    from srbench.report import collect, tables
    from srbench.report.render import to_markdown

    client = tracking.client(mlflow_uri)
    exp_id = tracking.get_or_create_experiment(client, "benchmark")
    parent = client.create_run(exp_id, tags={"srbench.kind": "benchmark"}).info.run_id
    start = 1_700_000_000_000

    def cell(runtime, latency, compare=False, model="carn_m", scale=4, offset=0, psnr=31.9):
        tags = {"mlflow.parentRunId": parent, "srbench.kind": "cell", "srbench.cell_key": f"{model}{scale}{runtime}",
                "srbench.model": model, "srbench.weights": model, "srbench.scale": str(scale),
                "srbench.bn_mode": "eval", "srbench.device_name": "CPU test (2 threads)", "protocol.name": "standard",
                "protocol.color": "y", "srbench.measure_out": "720x1280"}
        if runtime:
            tags["srbench.runtime"] = runtime
        if compare:
            tags["srbench.runtime_compare"] = "1"
        run = client.create_run(exp_id, start_time=start + offset, tags=tags).info.run_id
        client.log_batch(run, metrics=[Metric("latency_ms", latency, 0, 0), Metric("latency_iqr_ms", 1.0, 0, 0),
                                       Metric("psnr_y.Set5", psnr, 0, 0), Metric("mult_adds_g", 32.5, 0, 0)])
        client.set_terminated(run, "FINISHED")
        return run

    plain = cell("openvino", 80.0, offset=1)              # the benchmark's own (auto) run
    cell("eager", 200.0, compare=True, offset=2, psnr=31.9001)
    newest_compare = cell("onnxruntime", 100.0, compare=True, offset=3)
    cell(None, 300.0, model="ecdn", offset=4)              # a run from before runtimes: eager, alone
    bench = collect.read_benchmark(collect.Store(mlflow_uri), "benchmark")
    main = bench.cells[bench.cells["model"] == "carn_m"]
    assert list(main["run_id"]) == [plain] != [newest_compare]  # comparison runs give way to the plain one
    assert list(bench.cells[bench.cells["model"] == "ecdn"]["runtime"]) == ["eager"]
    table = tables.runtime_table(bench, "standard")
    assert [c[1] for c in table.columns[4:7]] == ["eager", "onnxruntime", "openvino"]
    [row] = table.rows  # ecdn, measured on one runtime only, is the efficiency table's alone
    assert row[1:4] == ["x4", "720x1280", "CPU test (2 threads)"]
    assert [p.text for p in row[4]] == ["200.0"] and row[6][0].mark == "best" and row[4][0].mark is None
    assert row[7] == "openvino" and row[8] == "2.50x"  # 200 / 80, by hand
    csv_row = table.csv[table.csv["arch"] == "carn_m"].iloc[0]
    assert csv_row["latency_ms_onnxruntime"] == 100.0 and csv_row["speedup_vs_eager"] == pytest.approx(2.5)
    assert "**80.0**" in to_markdown(table)
    eff = tables.efficiency_table(bench, "standard", "Set5")
    runtime_col = [h for _, h in eff.columns].index("Runtime")
    assert sorted(r[runtime_col] for r in eff.rows) == ["eager", "openvino"]
    assert sorted(eff.csv["runtime"]) == ["eager", "openvino"]


# ---------------------------------------------------------------------------------------------------------------
# The harness: the runner runs the forward passes, fingerprints once per invocation, the LR lookup


def test_measure_cell_forwards_through_the_runner_and_counts_the_model(tiny_dataset):
    from srbench.eval.cell import CostSettings, measure_cell
    from srbench.eval.protocol import get_protocol
    from srbench.models import create_model

    model = create_model("carn_m")
    eager = rt.prepare_runtime(model, "eager", scale=2, bn_mode="eval")
    calls = []
    runner = rt.Runner("counting", lambda x: calls.append(tuple(x.shape)) or eager(x), scale=2, bn_mode="eval",
                       device=eager.device, versions={})
    runner.torch_memory = True  # it wraps eager: PyTorch's memory, which the peak-memory pass measures
    settings = CostSettings(latency=True, warmup=1, repeats=2, memory=True, out_height=48, out_width=48)
    out = measure_cell(model, datasets=[str(tiny_dataset)], scale=2, protocol=get_protocol("standard"),
                       device=eager.device, settings=settings, progress=False, runner=runner)
    assert len(out.results[0].images) == 3
    assert len(calls) == 3 + 1 + 2 + 1  # 3 images, warm-up, 2 timed repeats, 1 memory pass: all through the runner
    assert calls[-1] == (1, 3, 24, 24)  # the cost passes at the declared 48x48 output
    assert out.cost["params"] == 414_811  # counted on the network
    # the CARN paper's CARN-M x2 Mult-Adds, 91.2 G at 720p (one decimal), scaled to the declared 48x48 output
    area = 48 * 48 / (720 * 1280)
    assert out.cost["mult_adds_g"] == pytest.approx(91.2 * area, abs=0.05 * area)
    assert "peak_mem_mb" in out.cost
    runner.torch_memory = False  # an ONNX Runtime / OpenVINO arena: not measurable, so not logged (no false 0 MiB)
    calls.clear()
    out = measure_cell(model, datasets=[str(tiny_dataset)], scale=2, protocol=get_protocol("standard"),
                       device=eager.device, settings=settings, progress=False, runner=runner)
    assert len(calls) == 3 + 1 + 2 and "peak_mem_mb" not in out.cost and "latency_ms" in out.cost
    # CARN-M has no BatchNorm: both modes are one computation, so its eval runner serves a batch-mode cell ...
    out = measure_cell(model, datasets=[str(tiny_dataset)], scale=2, protocol=get_protocol("standard", bn_mode="batch"),
                       device=eager.device, settings=settings, progress=False, runner=runner)
    assert len(out.results[0].images) == 3
    # ... but a network with BatchNorm is refused a runner prepared in the other mode
    with_bn = create_model("ecdn_m")
    with pytest.raises(SrbenchError, match="prepared in BN mode 'eval'"):
        measure_cell(with_bn, datasets=[str(tiny_dataset)], scale=2,
                     protocol=get_protocol("standard", bn_mode="batch"), device=eager.device, settings=settings,
                     progress=False, runner=runner)
    with pytest.raises(SrbenchError, match="prepared for x2, not x3"):
        measure_cell(model, datasets=[str(tiny_dataset)], scale=3, protocol=get_protocol("standard"),
                     device=eager.device, settings=settings, progress=False, runner=runner)


@pytest.mark.slow
def test_dataset_fingerprints_are_computed_once_per_invocation(tmp_path, tiny_dataset, mlflow_uri, monkeypatch):
    import srbench.track.cell_plan as runner_module  # the fingerprint memo of the invocation lives there

    calls = []
    real = runner_module.dataset_fingerprint
    monkeypatch.setattr(runner_module, "dataset_fingerprint", lambda *a: calls.append(a) or real(*a))
    path = _experiment(tmp_path, "  - {model: bicubic}\n  - {model: bicubic, protocol: paper_gray}\n", name="fp",
                       datasets=f"[{tiny_dataset}]", scales="[2, 3, 4]")
    outcomes = run_benchmark(load_experiment(path), tracking_uri=mlflow_uri, progress=False)
    assert len(outcomes) == 6  # 6 cells, each needing the fingerprint for its key and its tags
    assert sorted(calls) == sorted((str(tiny_dataset), s, "file") for s in (2, 3, 4))


def test_lr_lookup_follows_the_folder(tmp_path):
    import os

    from srbench.data.datasets import lr_path

    lr_dir = tmp_path / "S" / "LR_bicubic" / "X2"
    lr_dir.mkdir(parents=True)
    (lr_dir / "ax2.png").write_bytes(b"")
    assert lr_path(tmp_path / "S", "a", 2) == lr_dir / "ax2.png"
    assert lr_path(tmp_path / "S", "b", 2) == lr_dir / "bx2.png"  # absent: where a generated LR goes
    (lr_dir / "BX2.PNG").write_bytes(b"")  # added later (maybe within the folder's mtime granularity)
    assert lr_path(tmp_path / "S", "b", 2) == lr_dir / "BX2.PNG"
    os.rename(lr_dir / "ax2.png", lr_dir / "Ax2.png")
    os.utime(lr_dir, ns=(1, 1))  # a rename changes the folder's mtime; made explicit here
    assert lr_path(tmp_path / "S", "a", 2) == lr_dir / "Ax2.png"
    (lr_dir / "ax2.jpg").write_bytes(b"")
    os.utime(lr_dir, ns=(2, 2))
    with pytest.raises(SrbenchError, match="several LR files for a at x2"):
        lr_path(tmp_path / "S", "a", 2)


# ---------------------------------------------------------------------------------------------------------------
# The command line


def test_evaluate_runtime_flag(benchmark_root, capsys):
    import json

    from srbench.cli import main

    assert main(["evaluate", "--model", "carn_m", "--dataset", "Set5", "--scale", "4", "--runtime", "openvino",
                 "--json", "--no-progress"]) == 0
    [cell] = json.loads(capsys.readouterr().out)
    assert cell["runtime"] == "openvino" and cell["runtime_versions"]["openvino"]
    assert cell["psnr"] == pytest.approx(31.883, abs=0.01)  # calibration.md, CARN-M Set5 x4
    for args, needle in ((["--model", "bicubic", "--runtime", "onnxruntime"], "cannot serve bicubic x4"),
                         (["--model", "bicubic", "--runtime", "fast"], "unknown runtime 'fast'")):
        assert main(["evaluate", *args, "--dataset", "Set5", "--no-progress"]) == 2
        err = capsys.readouterr().err.strip()
        assert err.startswith("error: ") and needle in err and "\n" not in err
    for args, needle in ((["--shard", "3/2"], "--shard '3/2'"), (["--runtimes", "eager", "opnvino"],
                                                                 "did you mean 'openvino'")):
        assert main(["benchmark", *args]) == 2
        err = capsys.readouterr().err.strip()
        assert needle in err and "\n" not in err


def test_complexity_is_counted_once_per_model_and_size(monkeypatch, tmp_path):
    from torch import nn

    monkeypatch.setenv("SRBENCH_CACHE", str(tmp_path))  # nothing kept from earlier counts (complexity_cache)

    import srbench.eval.cell as cell_module
    from srbench.models import create_model

    calls = []
    for name in ("count_effective_params", "mult_adds"):
        real = getattr(cell_module, name)
        monkeypatch.setattr(cell_module, name, lambda *a, _real=real, _name=name, **k: calls.append(_name)
                            or _real(*a, **k))
    model = create_model("carn_m")
    first = cell_module.complexity(model, 4, (720, 1280))
    assert first["params"] == 414_811 and first["mult_adds_g"] == pytest.approx(32.5, abs=0.05)  # CARN paper: 32.5G
    assert cell_module.complexity(model, 4, (720, 1280)) == first and len(calls) == 2
    cell_module.complexity(model, 2, (720, 1280))
    assert calls == ["count_effective_params", "mult_adds", "mult_adds"]
    model.extra = nn.Conv2d(1, 1, 1)  # another structure: counted again
    assert cell_module.complexity(model, 4, (720, 1280))["params"] == 414_811 + 2
    assert calls[-2:] == ["count_effective_params", "mult_adds"]
    assert cell_module.complexity(create_model("carn_m"), 4, (720, 1280)) == first  # a new object: read back


def test_a_prepared_runtime_is_dropped_once_no_pending_cell_needs_it(tmp_path, tiny_dataset, mlflow_uri,
                                                                    monkeypatch):
    """A compiled runtime holds its working memory (about 0.9 GB for ECDN x2 on OpenVINO), so the benchmark keeps a
    group's only until its last cell: read from the memory trace, no cell starts with another group's runtime held,
    and none is left at the end (the old code kept all of a network's runtimes until the next network)."""
    import json

    trace = tmp_path / "trace.jsonl"
    monkeypatch.setenv("SRBENCH_MEMORY_TRACE", str(trace))
    path = _experiment(tmp_path, "  - {model: carn_m, weights: carn_m}\n"
                                 "  - {model: carn_m, weights: carn_m, protocol: paper_gray}\n",
                       name="drop", datasets=f"[{tiny_dataset}]", scales="[2, 3]")
    exp = narrow(load_experiment(path), runtime="onnxruntime")
    outcomes = run_benchmark(exp, tracking_uri=mlflow_uri, progress=False, runtime_cache=tmp_path / "c")
    assert [o.status for o in outcomes] == ["computed"] * 4
    marks = [json.loads(line) for line in trace.read_text().splitlines()]
    cells = [m for m in marks if m["phase"].startswith("carn_m")]
    # cells run by group (x2 standard, x2 paper_gray, x3 ...): the x2 session lives through both x2 cells, then goes
    assert [m["runtimes"] for m in cells] == [0, 1, 0, 1]
    assert marks[-1]["phase"] == "cells done" and marks[-1]["runtimes"] == 0
