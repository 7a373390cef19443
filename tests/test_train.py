"""The trainer on a tiny model and a 4-image h5 file: exact resume after a crash and after Ctrl-C, NaN stop, bad
training data named, and what a run records in MLflow (private SQLite store per test)."""

from __future__ import annotations

import dataclasses
import signal
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from srbench.core.errors import SrbenchError
from srbench.train.trainer import load_training_checkpoint, train
from srbench.train.config import TrainConfig, resolve
from conftest import deliver_signal


def _image_folder(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    for k, (h, w) in enumerate([(40, 44), (48, 40), (36, 52), (44, 44)]):
        base = rng.integers(0, 256, (h // 4 + 1, w // 4 + 1, 3)).astype(np.uint8)
        img = np.asarray(Image.fromarray(base).resize((w, h), Image.BILINEAR))  # smooth-ish content
        Image.fromarray(img).save(folder / f"img{k}.png")
    return folder


@pytest.fixture()
def train_h5(tmp_path) -> Path:
    from srbench.data.prepare import prepare

    path, _ = prepare(_image_folder(tmp_path / "imgs"), tmp_path / "train.h5", progress=False)
    return path


def _config(tmp_path: Path, h5: Path, name: str, **changes) -> TrainConfig:
    base = dict(model="carn_m", name=name, scale=0, max_steps=8, decay=3, lr=1e-3, batch_size=2, patch_size=6,
                train_data=str(h5), val_dataset=None, ckpt_every=2, log_every=2, seed=1, device="cpu",
                out_dir=str(tmp_path / "runs" / name))
    base.update(changes)
    return resolve(TrainConfig(**base))


def _fail_on_batch(monkeypatch, at: dict[int, str]):
    """Make the training loop's batch fetch (Prefetcher.next_batch, in the main thread, whatever was drawn ahead)
    crash ('crash') or deliver SIGINT ('sigint') on the given 1-based calls."""
    from srbench.train.data import Prefetcher

    original = Prefetcher.next_batch
    calls = {"n": 0}

    def patched(self):
        calls["n"] += 1
        action = at.get(calls["n"])
        if action == "crash":
            raise RuntimeError("simulated crash")
        if action == "sigint":
            deliver_signal(signal.SIGINT)
        return original(self)

    monkeypatch.setattr(Prefetcher, "next_batch", patched)
    return calls


def _weights(path: Path) -> dict:
    return torch.load(path, map_location="cpu", weights_only=True)


@pytest.mark.slow
def test_resume_after_crash_and_ctrl_c_is_bitwise_identical(tmp_path, train_h5, mlflow_uri, monkeypatch):
    import mlflow

    full = train(_config(tmp_path, train_h5, "full"), progress=False)
    assert full.step == 8

    cfg = _config(tmp_path, train_h5, "killed")
    # crash in step 5: the periodic checkpoint of step 4 is what survives
    _fail_on_batch(monkeypatch, {5: "crash"})
    with pytest.raises(RuntimeError, match="simulated crash"):
        train(cfg, progress=False)
    assert load_training_checkpoint(Path(cfg.out_dir) / "last.pt")["step"] == 4
    with pytest.raises(SrbenchError, match="--resume"):  # never silently overwrite a run
        train(cfg, progress=False)
    # resume; Ctrl-C during step 6 (2nd batch of this session): that step finishes, is checkpointed, run KILLED
    _fail_on_batch(monkeypatch, {2: "sigint"})
    with pytest.raises(KeyboardInterrupt):
        train(cfg, resume=True, progress=False)
    ckpt = load_training_checkpoint(Path(cfg.out_dir) / "last.pt")
    assert ckpt["step"] == 6
    client = mlflow.MlflowClient(mlflow_uri)
    assert client.get_run(ckpt["run_id"]).info.status == "KILLED"
    monkeypatch.undo()
    monkeypatch.setenv("MLFLOW_TRACKING_URI", mlflow_uri)
    resumed = train(cfg, resume=True, progress=False)
    assert resumed.step == 8 and resumed.run_id == ckpt["run_id"]  # the same MLflow run continued

    a, b = _weights(full.final_weights), _weights(resumed.final_weights)
    assert a.keys() == b.keys()
    for key in a:
        assert torch.equal(a[key], b[key]), key
    changed = [k for k in a if not torch.equal(a[k], ckpt["model"][k])]
    assert changed  # steps 7-8 did change the weights: the comparison is not vacuous
    run = client.get_run(resumed.run_id)
    assert run.info.status == "FINISHED"
    assert run.data.tags["srbench.resumed_at"] == "4,6"


@pytest.mark.slow
def test_bf16_run_resumes_after_a_crash(tmp_path, train_h5, mlflow_uri, monkeypatch):
    """amp=bf16 on CPU: a run that crashes in step 5 resumes from step 4 and finishes; the run says it trained in
    bf16, and its weights differ from the float32 run's (the precision was applied)."""
    import mlflow

    fp32 = train(_config(tmp_path, train_h5, "fp32", prefetch=0), progress=False)
    cfg = _config(tmp_path, train_h5, "bf16", amp="bf16")
    _fail_on_batch(monkeypatch, {5: "crash"})
    with pytest.raises(RuntimeError, match="simulated crash"):
        train(cfg, progress=False)
    assert load_training_checkpoint(Path(cfg.out_dir) / "last.pt")["step"] == 4
    monkeypatch.undo()
    monkeypatch.setenv("MLFLOW_TRACKING_URI", mlflow_uri)
    resumed = train(cfg, resume=True, progress=False)
    assert resumed.step == 8
    weights = _weights(resumed.final_weights)
    assert all(torch.isfinite(v).all() for v in weights.values() if v.is_floating_point())
    assert any(not torch.equal(v, _weights(fp32.final_weights)[k]) for k, v in weights.items())
    run = mlflow.MlflowClient(mlflow_uri).get_run(resumed.run_id)
    assert run.info.status == "FINISHED" and run.data.tags["srbench.amp_effective"] == "bf16"
    assert run.data.tags["srbench.resumed_at"] == "4" and run.data.params["amp"] == "bf16"


def test_prefetch_changes_nothing_but_speed(tmp_path, train_h5, mlflow_uri):
    """Batches drawn ahead by the background thread: the same weights, bitwise, as drawing them in the loop."""
    a = train(_config(tmp_path, train_h5, "sync", prefetch=0, max_steps=5), progress=False)
    b = train(_config(tmp_path, train_h5, "ahead", prefetch=3, max_steps=5), progress=False)
    wa, wb = _weights(a.final_weights), _weights(b.final_weights)
    assert all(torch.equal(wa[k], wb[k]) for k in wa)


def test_compile_wraps_the_forward_pass_only():
    """compile=true: the step calls torch.compile's wrapper of the network (compiled lazily, at the first step: too
    slow to run here, measured by scripts/bench_train_throughput.py --compile 1); the model itself stays eager."""
    from srbench.models import create_model
    from srbench.train.precision import resolve_precision
    from srbench.train.trainer import build_stepper

    model = create_model("carn_m", scales=2)
    cfg = TrainConfig(model="carn_m", scale=2, compile=True, train_data="unused.h5")
    stepper = build_stepper(cfg, model, torch.device("cpu"), resolve_precision("none", torch.device("cpu")))
    assert isinstance(stepper.forward_fn, torch._dynamo.eval_frame.OptimizedModule)
    assert stepper.forward_fn._orig_mod is model and stepper.net is model
    eager = build_stepper(dataclasses.replace(cfg, compile=False), model, torch.device("cpu"),
                          resolve_precision("none", torch.device("cpu")))
    assert eager.forward_fn is model


def test_nan_loss_stops_with_step_and_keeps_last_good_checkpoint(tmp_path, train_h5, mlflow_uri, monkeypatch):
    import mlflow

    import srbench.train.losses

    real = srbench.train.losses.get_loss
    calls = {"n": 0}

    def poisoned(name, **kw):
        fn = real(name, **kw)

        def loss(sr, hr):
            calls["n"] += 1
            value = fn(sr, hr)
            return value * float("nan") if calls["n"] == 3 else value
        return loss

    monkeypatch.setattr(srbench.train.losses, "get_loss", poisoned)
    cfg = _config(tmp_path, train_h5, "nan")
    with pytest.raises(SrbenchError, match=r"step 3\b") as exc:
        train(cfg, progress=False)
    assert "nan" in str(exc.value).lower() and "last.pt" in str(exc.value)
    ckpt = load_training_checkpoint(Path(cfg.out_dir) / "last.pt")
    assert ckpt["step"] == 2
    assert all(torch.isfinite(v).all() for v in ckpt["model"].values() if v.is_floating_point())
    assert mlflow.MlflowClient(mlflow_uri).get_run(ckpt["run_id"]).info.status == "FAILED"


def test_corrupt_h5_is_named(tmp_path, train_h5, mlflow_uri):
    garbage = tmp_path / "garbage.h5"
    garbage.write_bytes(b"not an hdf5 file at all" * 10)
    with pytest.raises(SrbenchError, match="garbage.h5"):
        train(_config(tmp_path, garbage, "g"), progress=False)
    truncated = tmp_path / "truncated.h5"
    truncated.write_bytes(train_h5.read_bytes()[: train_h5.stat().st_size // 2])
    with pytest.raises(SrbenchError, match="truncated.h5"):
        train(_config(tmp_path, truncated, "t"), progress=False)


def test_image_folder_with_broken_file_is_named(tmp_path, mlflow_uri, monkeypatch):
    monkeypatch.setenv("SRBENCH_STORE", str(tmp_path / "store"))  # the folder's h5 cache goes to the store
    folder = _image_folder(tmp_path / "imgs")
    (folder / "img2.png").write_bytes(b"garbage")
    with pytest.raises(SrbenchError, match="img2.png"):
        train(_config(tmp_path, folder, "broken"), progress=False)
    assert not list((tmp_path / "store").rglob("*.h5*"))


@pytest.mark.slow
def test_image_folder_is_prepared_and_run_is_tracked(tmp_path, mlflow_uri, monkeypatch, benchmark_root):
    """A folder is cached as h5 in the store's cache; a run logs config, metrics, validation and weights; run:<id>
    resolves."""
    import mlflow

    from srbench.track.run_weights import resolve_run_weights
    from srbench.models import create_model

    monkeypatch.setenv("SRBENCH_STORE", str(tmp_path / "store"))
    (tmp_path / "store").mkdir()
    (tmp_path / "store" / "benchmark").symlink_to(benchmark_root, target_is_directory=True)
    folder = _image_folder(tmp_path / "imgs")
    cfg = _config(tmp_path, folder, "tracked", scale=4, max_steps=4, val_dataset="Set5", val_every=4, log_every=2)
    result = train(cfg, progress=False)
    [cached] = (tmp_path / "store" / "cache" / "h5").glob("*.h5")  # named by content, not by the folder's name
    assert not (tmp_path / "store" / "train").exists() and len(cached.stem) == 64

    client = mlflow.MlflowClient(mlflow_uri)
    run = client.get_run(result.run_id)
    tags, params, metrics = run.data.tags, run.data.params, run.data.metrics
    assert run.info.status == "FINISHED"
    assert (tags["srbench.kind"], tags["srbench.model"], tags["srbench.group"], tags["srbench.loss"]) == \
        ("train", "carn_m", "4", "L1")
    assert params["lr"] == "0.001" and params["batch_size"] == "2" and params["scale"] == "4"
    assert set(params) == {f.name for f in dataclasses.fields(TrainConfig)}
    assert [m.step for m in client.get_metric_history(run.info.run_id, "loss")] == [2, 4]
    assert [m.value for m in client.get_metric_history(run.info.run_id, "lr")] == [1e-3, 5e-4]
    assert "val_psnr.x4" in metrics and "val_ssim.x4" in metrics and metrics["train_seconds"] > 0

    # the logged PSNR, recomputed here independently from the final weights (Y of BT.601, crop 4, rounded output)
    model = create_model("carn_m", scales=4)
    model.load_state_dict(_weights(result.final_weights))
    psnrs = []
    for hr_file in sorted((benchmark_root / "Set5" / "HR").glob("*.png")):
        hr = np.asarray(Image.open(hr_file).convert("RGB"), dtype=np.float64)
        lr = np.asarray(Image.open(benchmark_root / "Set5" / "LR_bicubic" / "X4" / f"{hr_file.stem}x4.png")
                        .convert("RGB"))
        with torch.no_grad():
            sr = model(torch.from_numpy(lr.copy()).permute(2, 0, 1)[None].float() / 255, 4)
        sr = np.round(sr[0].permute(1, 2, 0).clamp(0, 1).numpy().astype(np.float64) * 255)
        h, w = lr.shape[0] * 4, lr.shape[1] * 4
        y = [16 + (65.481 * im[..., 0] + 128.553 * im[..., 1] + 24.966 * im[..., 2]) / 255
             for im in (sr, hr[:h, :w])]
        mse = np.mean((y[0][4:-4, 4:-4] - y[1][4:-4, 4:-4]) ** 2)
        psnrs.append(10 * np.log10(255 ** 2 / mse))
    assert metrics["val_psnr.x4"] == pytest.approx(np.mean(psnrs), abs=1e-3)
    # validated through srbench.evaluate, logged also under the benchmark's names (srbench.log_validation's)
    assert metrics["psnr_y.Set5"] == metrics["val_psnr.x4"] and metrics["ssim_y.Set5"] == metrics["val_ssim.x4"]
    assert tags["srbench.dataset_fingerprint.Set5"] and tags["protocol.name"] == "standard"

    path, sha, build = resolve_run_weights(f"run:{result.run_id}", dest=tmp_path / "dl")
    assert build == {"model": "carn_m", "group": 4, "scales": 4}
    assert sha == tags["srbench.weights_sha256.final"]
    assert path.read_bytes() == result.final_weights.read_bytes()
    best_path, best_sha, _ = resolve_run_weights(f"run:{result.run_id}:best", dest=tmp_path / "dl2")
    assert best_sha == tags["srbench.weights_sha256.best"]
    with pytest.raises(SrbenchError, match="no MLflow run"):
        resolve_run_weights("run:0123456789abcdef")


@pytest.mark.slow
def test_cli_train_smoke_recipe_and_errors(tmp_path, train_h5, mlflow_uri, capsys):
    from srbench.cli import main
    from srbench.core.store import REPO_ROOT

    recipe = REPO_ROOT / "experiments" / "train" / "smoke.yaml"
    out = tmp_path / "smoke"
    args = ["train", str(recipe), "--no-progress", "--max-steps", "2", "--set", f"train_data={train_h5}",
            "--set", "val_dataset=null", "--set", f"out_dir={out}"]
    assert main(args) == 0
    assert load_training_checkpoint(out / "last.pt")["step"] == 2 and (out / "final.pth").is_file()
    assert main(args) == 2  # exists: needs --resume
    assert "--resume" in capsys.readouterr().err
    assert main(args + ["--resume", "--set", "patch_size=4"]) == 2  # cannot change what was trained
    assert "patch_size" in capsys.readouterr().err
    bad = tmp_path / "bad.yaml"
    bad.write_text("model: carn_m\nbatch: 4\n")
    assert main(["train", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "'batch'" in err and str(bad) in err
