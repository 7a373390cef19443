"""The field table (srbench.report.field_table) on a tiny store built by the runner, and a user's own Manga109.

The store: bicubic, IMDN (x2, x4) and SPAN (x4) on a hand-made ``Manga109`` folder of three small images whose sides
are not multiples of 2 or 4 (LR generated, HR mod-cropped at the top-left as the standard protocol says), eager
runtime, latency at a 48x48 output. Independent references: the PSNRs are the logged run metrics; the published
values are typed here as read in their sources (the SAFMN table image, sunny2109/SAFMN@68c2182e
figs/efficient_sr.png: bicubic x4 Manga109 24.89, IMDN x4 30.45; the IMDN table image, Zheng222/IMDN@8f158e6a
images/psnr_ssim.png: IMDN x2 38.88); measured − published is computed by hand from those; the bicubic PSNR on the
odd-sized images is recomputed here from the mod-cropped HR with the MATLAB-compatible bicubic and the Y-channel
PSNR with border crop = scale.
"""

from __future__ import annotations

import numpy as np
import pytest

from srbench.data.datasets import dataset_id
from srbench.report import collect
from srbench.report.field_table import field_rows, field_sentences, read_cells, read_field

#: (top, left, height, width) cuts of Set5 images: no side a multiple of 4, two not of 2
CUTS = {"baby": (100, 80, 45, 39), "bird": (60, 70, 42, 37), "butterfly": (90, 90, 37, 46)}
PUBLISHED = {("bicubic", 4): 24.89, ("imdn", 4): 30.45, ("imdn", 2): 38.88}


@pytest.fixture(scope="module")
def field_store(tmp_path_factory, benchmark_root):
    """(uri, Manga109 folder, its metric key) after running the tiny experiment once for the module."""
    from srbench.data.images import read_image, write_image
    from srbench.track import tracking
    from srbench.track.experiment import load_experiment
    from srbench.track.benchmark import run_benchmark

    root = tmp_path_factory.mktemp("field")
    folder = root / "Manga109"
    for name, (top, left, h, w) in CUTS.items():
        write_image(folder / "HR" / f"{name}.png", read_image(benchmark_root / "Set5" / "HR" / f"{name}.png")
                    [top:top + h, left:left + w])
    (root / "mlruns").mkdir()
    uri = f"sqlite:///{root / 'mlruns' / 'mlflow.db'}"
    tracking.client(uri)
    path = root / "field.yaml"
    path.write_text(f"""
name: fieldtest
datasets: [{folder}]
scales: [2, 4]
device: cpu
runtime: eager
measure: {{latency: true, warmup: 0, repeats: 2, memory: false, out_height: 48, out_width: 48}}
models:
  - {{model: bicubic}}
  - {{model: imdn, weights: imdn}}
  - {{model: span, weights: span}}
""")
    run_benchmark(load_experiment(path), tracking_uri=uri, progress=False)
    return uri, folder, dataset_id(folder)


def _logged_psnr(uri: str, key: str) -> dict[tuple[str, int], float]:
    from srbench.track import tracking

    client = tracking.client(uri)
    exp = client.get_experiment_by_name("fieldtest")
    runs = client.search_runs([exp.experiment_id], filter_string="tags.`srbench.kind` = 'cell'")
    return {(r.data.tags["srbench.model"], int(r.data.tags["srbench.scale"])): r.data.metrics[f"psnr_y.{key}"]
            for r in runs}


def test_odd_sides_are_mod_cropped(field_store):
    from srbench.core.imresize import imresize
    from srbench.data.images import read_image
    from srbench.eval.metrics import psnr, rgb_to_y

    uri, folder, key = field_store
    assert key.startswith("Manga109-")
    logged = _logged_psnr(uri, key)
    for scale in (2, 4):
        values = []
        for name in CUTS:
            hr = read_image(folder / "HR" / f"{name}.png")
            hr = hr[:hr.shape[0] // scale * scale, :hr.shape[1] // scale * scale]  # mod-crop, top-left
            sr = np.clip(np.round(imresize(imresize(hr, 1 / scale), scale)), 0, 255).astype(np.uint8)
            b = scale
            values.append(psnr(rgb_to_y(sr)[b:-b, b:-b], rgb_to_y(hr)[b:-b, b:-b]))
        assert logged[("bicubic", scale)] == pytest.approx(np.mean(values), abs=1e-6), scale


def test_field_table_columns_sorting_and_deltas(field_store):
    uri, _, key = field_store
    logged = _logged_psnr(uri, key)
    field = read_field(collect.Store(uri))
    assert field is not None and field.experiments == ["fieldtest"] and sorted(field.rows) == [2, 4]
    x4 = next(t for t in field.tables if t.name == "field_x4")
    headers = [c for c in x4.columns]
    assert headers[:3] == [("", "Model"), ("", "Params"), ("", "Mult-Adds (G, 48x48 out)")]
    assert headers[-3:] == [("", "Latency (ms, 48x48 out)"), ("", "Runtime"), ("", "Device")]
    for d in ("Set5", "Set14", "B100", "Urban100", "Manga109"):  # Manga109 only because it was measured
        assert [(d, "measured"), (d, "published"), (d, "Δ PSNR")] == headers[headers.index((d, "measured")):][:3]
    # sorted by Mult-Adds: bicubic (none), SPAN (8.6 G at 720p), IMDN (40.9 G)
    assert [r[0] for r in x4.rows] == ["bicubic", "span", "imdn"]
    madds = list(x4.csv["mult_adds_g"])
    assert madds == sorted(madds) and madds[0] == 0
    csv = x4.csv.set_index("model")
    col = headers.index(("Manga109", "Δ PSNR"))
    for model in ("bicubic", "imdn"):
        by_hand = logged[(model, 4)] - PUBLISHED[(model, 4)]
        assert csv.loc[model, "psnr_delta_Manga109"] == pytest.approx(by_hand, abs=1e-9)
        assert x4.rows[list(csv.index).index(model)][col] == f"{by_hand:+.2f}"
    assert x4.rows[0][col - 1] == "24.89/0.7866‡" and x4.rows[2][col - 1] == "30.45/0.9075‡"
    assert x4.rows[1][col - 1] == "—" and x4.rows[1][col] == "—"  # SPAN: no printed value found
    assert x4.rows[0][headers.index(("Set14", "measured"))] == "—"  # not measured here
    x2 = next(t for t in field.tables if t.name == "field_x2").csv.set_index("model")
    assert x2.loc["imdn", "psnr_delta_Manga109"] == pytest.approx(logged[("imdn", 2)] - 38.88, abs=1e-9)
    assert set(x4.csv["runtime"]) == {"eager"}
    assert any(f"`{key}` (3 images)" in n for n in x4.notes)  # a user's folder is named, with its size


def test_sentences_follow_the_numbers(field_store):
    uri, _, key = field_store
    logged = _logged_psnr(uri, key)
    results, cells, _ = read_cells(collect.Store(uri))
    rows = field_rows(results, cells, 4)
    text = " ".join(field_sentences(rows, 4))
    # at a 48x48 output every network is under 10 G: the band's best is the higher PSNR of the two, by hand
    best = max(("imdn", "span"), key=lambda m: logged[(m, 4)])
    assert f"0-10 G Mult-Adds: best on Manga109 is {best} ({logged[(best, 4)]:.2f} dB" in text
    worst = max(("bicubic", "imdn"), key=lambda m: abs(logged[(m, 4)] - PUBLISHED[(m, 4)]))
    assert f"printed for the released weights: {worst} on Manga109, " \
           f"{logged[(worst, 4)] - PUBLISHED[(worst, 4)]:+.2f} dB" in text


def test_report_has_the_field_section(field_store, tmp_path):
    from srbench.report.build import generate

    uri, _, _ = field_store
    out = tmp_path / "report"
    generate(experiment="fieldtest", uri=uri, out=out, n_resamples=100)
    readme = (out / "README.md").read_text()
    assert "The field" in readme and "tables/field_x4.md" in readme
    assert (out / "tables" / "field_x2.csv").is_file()


def test_bubble_points_take_every_measured_network():
    from srbench.models.published import lookup
    from srbench.report.field_figures import bubble_points
    from srbench.report.field_table import FieldRow

    def row(model, madds, params, psnr):
        return FieldRow(model, model, 4, params, madds, "720x1280", 1.0, "eager", "cpu", {"Set14": (psnr, 0.7)},
                        {"Set14": lookup(model, "Set14", 4)} if lookup(model, "Set14", 4) else {},
                        {"Set14": ("Set14", 14)})

    points, bicubic = bubble_points([row("bicubic", 0.0, 0.0, 26.0), row("span", 8.6, 150_688, 28.6),
                                     row("imdn", 40.9, 715_176, 28.5), row("rlfn", 17.2, 317_218, float("nan"))],
                                    "Set14")
    assert bicubic == 26.0 and [p["label"] for p in points] == ["span", "imdn"]  # no finite PSNR: no bubble
    assert all(not p["published"] and p["weights"] == p["model"] for p in points)
