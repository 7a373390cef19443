"""Build a report folder (``reports/local/`` by default) from MLflow alone: every table (Markdown, LaTeX, CSV),
every figure (PNG, PDF) and a README.

Every run lists the files it wrote in ``<out>/.srbench-report-files`` (git-ignored). A file an earlier run wrote and
this one did not (a table whose data is gone) is removed; a file no run of the report wrote is never touched, so a
report rendered into a folder that holds committed tables, or the benchmark command's summary, leaves them alone.
Deleting ``<out>`` and regenerating gives the same content.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from pathlib import Path

from srbench.core.errors import SrbenchError
from srbench.report import LOCAL_OUT, caveats, collect, crop_data, figures, reference as ref, sensitivity, tables
from srbench.report.collect import Benchmark, Store, dataset_rank
from srbench.report.render import Table, write_table
from srbench.track import schema

#: the list of files the last report run wrote into its output folder (the only files it may later remove)
MANIFEST = ".srbench-report-files"
TRAINING = "training"
CHALLENGE = "ntire"  # experiments/ntire.yaml's MLflow experiment: its score table and figure join every report
ABLATIONS = ("ablation_group", "ablation_group_ecdn", "ablation_loss")
# experiments/ablation_bn.yaml shares the benchmark's MLflow experiment (and so its cells): see that file.
BN_ABLATION = "benchmark"
_CROP = re.compile(r"^([^/@:]+)/([^@:]+)@([234]):(\d+),(\d+),(\d+),(\d+)$")


def parse_crop(spec: str) -> dict:
    """``Set5/baby@4:200,180,96,96`` -> {dataset, image, scale, box: [top, left, h, w]}."""
    m = _CROP.match(spec.strip())
    if not m:
        raise SrbenchError(f"--crop {spec!r}: expected <Set>/<image>@<scale>:<top>,<left>,<h>,<w>, "
                           "e.g. Set5/baby@4:200,180,96,96")
    d, image, s, *box = m.groups()
    box = [int(v) for v in box]
    if box[2] <= 0 or box[3] <= 0:
        raise SrbenchError(f"--crop {spec!r}: the box height and width must be positive")
    return {"dataset": d, "image": image, "scale": int(s), "box": box}


@dataclass
class Section:
    """A README section: a heading, optional text, and tables and/or figures."""

    title: str
    text: list[str] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)
    figures: list[tuple[str, str]] = field(default_factory=list)   # (stem, caption)


@dataclass
class Report:
    out: Path
    uri: str
    sources: list[str] = field(default_factory=list)
    sections: list[Section] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    written: list[Path] = field(default_factory=list)


def generate(*, experiment: str = "benchmark", uri: str | None = None, out: str | Path = LOCAL_OUT,
             dataset: str = "Set14", scale: int = 4, crops: list[str] | None = None, reference: str = "bicubic",
             protocol: str = "standard", train_runs: list[str] | None = None, n_resamples: int = 10_000,
             seed: int = 0, bubble_variants: bool = False) -> Report:
    """Read the store and write the whole report; returns what was written and the notes. ``bubble_variants`` adds
    the ``*_half`` / trained weights and the other BatchNorm mode to the bubble chart (by default it shows one bubble
    per released model in the protocol's BN mode)."""
    from srbench.report.readme import write_readme

    out = Path(out)
    crop_specs = [parse_crop(c) for c in crops or []]
    store = Store(uri)
    report = Report(out=out, uri=store.uri)
    try:
        boot = {"n_resamples": n_resamples, "seed": seed}
        bench = collect.read_benchmark(store, experiment)
        training = collect.read_training(store, TRAINING)
        ablations = {name: collect.read_training(store, name, sweeps=True) for name in ABLATIONS}
        bn_ablation = bench if experiment == BN_ABLATION else collect.read_benchmark(store, BN_ABLATION)
        explained = sensitivity.read_explain_runs(store)
        challenge = experiment != CHALLENGE and store.experiment_id(CHALLENGE) is not None
        if bench is None and training is None and all(v is None for v in ablations.values()) and bn_ablation is None \
                and not explained and not challenge:
            known = sorted(e.name for e in store.client.search_experiments())
            raise SrbenchError(f"experiment {experiment!r} not found in {store.uri}; run `srbench benchmark` first"
                               + (f" (experiments there: {', '.join(known)}; pick one with --experiment)" if known
                                  else " (the store is empty)"))
        _benchmark_sections(report, store, bench, experiment, protocol, reference, dataset, scale, crop_specs, boot,
                            bubble_variants)
        _field_section(report, store)
        if experiment != CHALLENGE:
            _challenge_section(report, store, CHALLENGE)
        _sensitivity_section(report, explained)
        _training_section(report, store, training, train_runs)
        _ablation_sections(report, store, ablations, bn_ablation, protocol, boot)
        _write(report, write_readme)
    finally:
        store.close()
    return report


# ------------------------------------------------------------------------------------------------------- benchmark
def _benchmark_sections(report: Report, store: Store, bench: Benchmark | None, experiment: str, protocol: str,
                        reference: str, dataset: str, scale: int, crop_specs: list[dict], boot: dict,
                        bubble_variants: bool = False) -> None:
    if bench is None:
        report.notes.append(f"Experiment `{experiment}` does not exist in this store: no benchmark tables or "
                            "figures (run `srbench benchmark`).")
        return
    report.sources.append(f"`{experiment}`: {bench.n_finished} finished cell run(s) read; "
                          f"{bench.cells['run_id'].nunique() if not bench.cells.empty else 0} selected after "
                          "newest-wins (per cell key, then per cell identity)")
    if bench.empty:
        report.notes.append(f"Experiment `{experiment}` has no finished cell runs.")
        return
    y_protocols = tables.protocols(bench, "y", protocol)
    all_protocols = tables.protocols(bench, None, protocol)
    main = protocol if protocol in all_protocols else all_protocols[0]
    if main != protocol:
        report.notes.append(f"Protocol `{protocol}` has no cells in `{experiment}`; the main tables use `{main}`.")

    _results_sections(report, store, bench, main, y_protocols, reference, boot)
    _published_section(report, store, bench, y_protocols, boot)
    _table1_section(report, store, bench, all_protocols)
    _efficiency_section(report, bench, main, dataset, scale, bubble_variants)
    _bn_section(report, store, bench, main, boot)
    _crops_section(report, store, bench, main, dataset, crop_specs)
    _challenge_section(report, store, experiment, bench)


def _field_section(report: Report, store: Store) -> None:
    """The field: every experiment's released models per scale, beside the published values (field_table.py)."""
    from srbench.report.field_figures import field_bubbles
    from srbench.report.field_table import read_field

    field_ = read_field(store)
    if field_ is not None:
        written, figs = field_bubbles(field_, report.out / "figures")
        report.written += written
        report.sections.append(Section("The field", text=field_.sentences, tables=field_.tables, figures=figs))


def _challenge_section(report: Report, store: Store, experiment: str, bench: Benchmark | None = None) -> None:
    """The efficient-SR challenge table and score-vs-PSNR figure of an experiment that declared a score."""
    from srbench.report.challenge import challenge_rows, challenge_table, score_figure, score_spec

    exp_id = store.experiment_id(experiment)
    spec = score_spec(store, exp_id) if exp_id is not None else None
    if spec is None:
        return
    bench = bench if bench is not None else collect.read_benchmark(store, experiment)
    if bench is None or bench.empty:
        return
    rows, notes = challenge_rows(bench.results, bench.cells, spec)
    if not rows:
        report.notes.append(f"`{experiment}` declares a score but has no cell with the challenge runtime on "
                            f"{spec['dataset']}.")
        return
    sec = Section(f"Efficient-SR challenge ({experiment})", text=notes)
    stem = f"challenge_{experiment}"
    sec.tables.append(challenge_table(rows, spec, stem))
    if any("terms" in r for r in rows):
        report.written += score_figure(rows, spec, report.out / "figures", f"score_vs_psnr_{experiment}")
        sec.figures.append((f"score_vs_psnr_{experiment}", f"Challenge score ({spec['formula'].name}) against "
                            f"RGB PSNR on {spec['dataset']}; lower is better; dashed: the PSNR gate."))
    report.sections.append(sec)


def _results_sections(report: Report, store: Store, bench: Benchmark, main: str, y_protocols: list[str], reference: str, boot: dict) -> None:
    """The paper tables (one per Y protocol) and the reference table."""
    sec = Section("Results: PSNR/SSIM by dataset and scale")
    for proto in y_protocols:
        t = tables.paper_table(bench, proto, name="paper_table" if proto == main else f"paper_table_{proto}")
        if t:
            t.notes += caveats.below_bicubic(bench.results, proto)
            sec.tables.append(t)
    t, note = tables.reference_table(bench, main, reference, **boot)
    if t:
        sec.tables.append(t)
    if note:
        report.notes.append(note)
    report.sections.append(sec)


def _published_section(report: Report, store: Store, bench: Benchmark, y_protocols: list[str], boot: dict) -> None:
    """Published values beside the measured ones, with the nearest protocol knob where explain runs exist."""
    sec = Section("Published versus measured")
    explained = sensitivity.read_explain_runs(store)
    nearest = functools.partial(sensitivity.nearest_knob, explained) if explained else None
    t, notes = tables.paper_vs_measured(bench, y_protocols, nearest=nearest, **boot)
    if t:
        sec.tables.append(t)
    else:
        sec.text.extend(notes or ["No measured cell matches a published row."])
    report.sections.append(sec)


def _sensitivity_section(report: Report, explained: list) -> None:
    """The protocol-sensitivity tables of the logged explain runs (one per dataset and scale)."""
    cells = sorted({(r.dataset, r.scale) for r in explained}, key=lambda c: (dataset_rank(c[0]), c[1]))
    if not cells:
        return
    sec = Section("Protocol sensitivity")
    sec.tables.extend(t for c in cells if (t := sensitivity.sensitivity_table(explained, *c)) is not None)
    report.sources.append(f"`{sensitivity.EXPERIMENT}`: {len(explained)} explain run(s) read")
    report.sections.append(sec)


def _table1_section(report: Report, store: Store, bench: Benchmark, all_protocols: list[str]) -> None:
    """The ECDN report's Table 1 in its own form, per protocol."""
    sec = Section("The ECDN report's Table 1, in its own form")
    sec.text.append(
        "The ECDN report's Table 1 prints, per model, the SUM over the 119 images of Set5 + Set14 + B100 at x4 of "
        "each image's PSNR (\"PSNR score\") and LPIPS. Its scripts measured RGB without border crop, truncated the "
        "output to 8 bits, left BatchNorm in training mode, divided the images by 255 twice for PSNR, which adds "
        "20·log10(255) = 48.13 dB to every image (sum_report ≈ sum_ours_under_its_protocol + 119 × 48.13), and "
        "gave LPIPS [0, 1] images where it expects [−1, 1]. The `ecdn_report` protocol preset does all of this; "
        "how close its sums land on the printed scores is computed in its table (measured − printed). The sums under "
        "other protocols are shown for the same rows without that comparison: they lack the 48.13 dB per image "
        "and differ in the other knobs.")
    for proto in all_protocols:
        t, note = tables.ecdn_table1(bench, proto)
        if t:
            sec.tables.append(t)
        if note:
            report.notes.append(note)
    if not sec.tables:
        sec.text.append("No model has per-image results for Set5, Set14 and B100 at x4.")
    report.sections.append(sec)


def _efficiency_section(report: Report, bench: Benchmark, main: str, dataset: str, scale: int, bubble_variants: bool) -> None:
    """The efficiency table and the bubble chart."""
    sec = Section("Efficiency")
    t = tables.efficiency_table(bench, main, dataset)
    if t:
        sec.tables.append(t)
    t = tables.runtime_table(bench, main)
    if t:
        sec.tables.append(t)
    stem = f"psnr_vs_mult_adds_{dataset}_x{scale}"
    if _bubble(report, bench, main, dataset, scale, stem, bubble_variants):
        shown = ("every measured row" if bubble_variants else
                 f"one bubble per released model in the protocol's BatchNorm mode ({_bn_mode(main)}); "
                 "`srbench report --bubble-variants` adds the `*_half` and trained weights and the other BN mode")
        sec.figures.append((stem, f"PSNR versus Mult-Adds on {dataset} x{scale} (bubble area ∝ parameters; filled: "
                                  f"measured, hollow: published values; {shown})."))
    report.sections.append(sec)


def _bn_section(report: Report, store: Store, bench: Benchmark, main: str, boot: dict) -> None:
    """BatchNorm eval versus batch statistics."""
    sec = Section("BatchNorm mode: eval versus batch statistics")
    t = tables.bn_table(bench, main, **boot)
    if t:
        sec.text += caveats.below_bicubic(bench.results, main)
        sec.tables.append(t)
    else:
        sec.text.append("No model was measured with both `eval` and `batch` BatchNorm statistics.")
    report.sections.append(sec)


def _crops_section(report: Report, store: Store, bench: Benchmark, main: str, dataset: str, crop_specs: list[dict]) -> None:
    """The crop grids declared by the experiment or on the command line."""
    sec = Section("Visual comparisons")
    specs = {(c["dataset"], c["image"], c["scale"], tuple(c["box"])): c
             for c in crop_specs + collect.parent_crops(store, bench.parents)}
    if not specs:
        sec.text.append("No crops declared (experiment `crops:` or `--crop`).")
    for key in sorted(specs, key=lambda k: (dataset_rank(k[0]), k[1], k[2], k[3])):
        shown, text = _crop_figure(report, store, bench, main, specs[key])
        sec.figures.extend(shown)
        if text:
            sec.text.append(text)
    report.sections.append(sec)

def _bn_mode(protocol: str) -> str:
    """The BatchNorm mode of a protocol preset (``eval`` for a name that is not a preset)."""
    from srbench.eval.protocol import PRESETS
    return PRESETS[protocol].bn_mode if protocol in PRESETS else "eval"


def _bubble(report: Report, bench: Benchmark, protocol: str, dataset: str, scale: int, stem: str,
            variants: bool = False) -> bool:
    res = bench.results[(bench.results["protocol"] == protocol) & (bench.results["dataset"] == dataset)
                        & (bench.results["scale"] == scale)]
    if res.empty:
        report.notes.append(f"Bubble chart: no cells for {dataset} x{scale} under protocol {protocol}.")
        return False
    cells = bench.cells[(bench.cells["protocol"] == protocol) & (bench.cells["scale"] == scale)]
    # one x axis, one output size: the published 720p one where measured so, else the most common measured one
    sizes = list(cells["measure_out"]) or [ref.PUBLISHED_MEASURE_OUT]
    out = max(sorted(set(sizes)), key=lambda size: (size == ref.PUBLISHED_MEASURE_OUT, sizes.count(size)))
    points, bicubic, other = [], None, []
    for r in res.itertuples(index=False):
        c = tables.select(cells, model=r.model, weights=r.weights, group=r.group, bn_mode=r.bn_mode)
        if r.model == "bicubic":
            bicubic = r.psnr
            continue
        if c.empty:
            continue
        if c["measure_out"].iloc[0] != out:
            other.append(r.label)
            continue
        points.append({"label": r.label, "model": r.model, "weights": r.weights, "bn_mode": r.bn_mode,
                       "psnr": r.psnr, "published": False, "mult_adds_g": c["mult_adds_g"].iloc[0],
                       "params": c["params"].iloc[0]})
    if other:
        report.notes.append(f"Bubble chart ({dataset} x{scale}): left out, measured at another output size than "
                            f"{out}: {', '.join(other)}.")
    for pub in ref.PUBLISHED if out == ref.PUBLISHED_MEASURE_OUT else ():
        if (dataset, scale) in pub.scores and pub.mult_adds_g.get(scale) and pub.params.get(scale):
            points.append({"label": pub.name, "model": pub.model, "psnr": pub.scores[(dataset, scale)][0],
                           "published": True, "source": pub.short_source or pub.source,
                           "mult_adds_g": pub.mult_adds_g[scale], "params": pub.params[scale]})
    report.written += figures.bubble_chart(points, dataset=dataset, scale=scale, out_dir=report.out / "figures",
                                           stem=stem, bicubic_psnr=bicubic, protocol=protocol,
                                           bn_mode=_bn_mode(protocol), variants=variants, measure_out=out)
    return True


def _crop_figure(report: Report, store: Store, bench: Benchmark, protocol: str, spec: dict):
    """The crop grid(s) of one crop from what the runs logged (:mod:`srbench.report.crop_data`; more than
    ``figures.crops.MAX_TILES`` models make several figures): ([(stem, caption)], None), or ([], text)."""
    d, image, s, (top, left, h, w) = spec["dataset"], spec["image"], spec["scale"], spec["box"]
    name = f"{d}/{image} x{s} [{top},{left},{h},{w}]"
    panel = crop_data.read_crop(store, bench, protocol, spec)
    if isinstance(panel, str):
        return [], f"Crop {name}: {panel}."
    artifact = schema.crop_artifact(d, image, s)
    if panel.missing:
        report.notes.append(f"Crop {name}: artifact `{artifact}` missing for " + ", ".join(panel.missing) + ".")
    if not panel.tiles:
        return [], f"Crop {name}: no cell run holds the SR crop artifact `{artifact}`; no figure."
    hr_tile = ({"label": "HR (crop)", "crop": panel.hr[top:top + h, left:left + w], "psnr": None}
               if panel.hr is not None else None)
    stem = f"crop_{d}_{re.sub(r'[^A-Za-z0-9_-]', '_', image)}_x{s}_{top}_{left}_{h}_{w}"
    crop_text = (f"crop: PSNR (dB) / SSIM on Y over the {h}x{w} box" if panel.hr is not None else
                 "crop: no PSNR/SSIM (the store logged no HR image)")
    note = (f"{crop_text}; image: the whole image as the cell measured it (protocol {protocol}, "
            f"{panel.color.upper()})")
    caption = (f"{d} `{image}` x{s}, box top={top}, left={left}, {h}x{w}: "
               + ("the HR image with the box, then " if panel.hr is not None else "")
               + f"the same crop from every model (protocol {protocol}), each captioned with the crop's and the "
               "whole image's PSNR/SSIM." + _crop_provenance(panel, spec))
    parts = figures.crop_parts(panel.tiles, hr_tile)
    shown = []
    for i, tiles in enumerate(parts, 1):
        part_stem = stem if i == 1 else f"{stem}_part{i}"
        part = f" ({i}/{len(parts)})" if len(parts) > 1 else ""
        report.written += figures.crop_grid(panel.hr, (top, left, h, w), tiles, title=f"{d} {image} x{s}{part}",
                                            out_dir=report.out / "figures", stem=part_stem, note=note)
        shown.append((part_stem, (f"Part {i} of {len(parts)}. " if len(parts) > 1 else "") + caption))
    return shown, None


def _crop_provenance(panel: crop_data.CropPanel, spec: dict) -> str:
    """The caption's account of where the crop scores come from, and what an older store lacks."""
    if panel.hr is None:
        hr_artifact = schema.crop_hr_artifact(spec["dataset"], spec["image"], spec["scale"])
        return (f" This store's runs logged the SR images but no HR image (`{hr_artifact}`): they were written "
                "before srbench logged it, so the figure has no HR panel and no crop PSNR/SSIM (the report reads "
                "MLflow alone; `srbench benchmark --force` recomputes the cells, which then log them).")
    psnrs = ", ".join(f"{t['label']} {t['psnr']:.2f} dB" for t in panel.tiles if t["psnr"] is not None)
    text = f" Crop PSNR on Y: {psnrs}."
    if panel.computed:
        text += (" Computed by the report from the logged HR and SR images for "
                 + ", ".join(panel.computed) + " (their runs logged no scores for this box).")
    return text


# -------------------------------------------------------------------------------------------------------- training
def _training_section(report: Report, store: Store, training, train_runs: list[str] | None) -> None:
    sec = Section("Training")
    if training is None:
        report.notes.append(f"Experiment `{TRAINING}` does not exist: no training curves.")
        return
    if train_runs:
        keep = [any(rid.startswith(p) for p in train_runs) for rid in training["run_id"]]
        training = training[keep]
    report.sources.append(f"`{TRAINING}`: {len(training)} finished training run(s)")
    if training.empty:
        sec.text.append("No finished training runs.")
        report.sections.append(sec)
        return
    t = tables.training_table(training)
    if t:
        sec.tables.append(t)
    runs = []
    for r in training.itertuples(index=False):
        keys = sorted(k for k in r.metrics_ if k.startswith("val_psnr"))
        runs.append({"label": f"{r.label or r.run_name or r.short} ({r.short})", "model": r.model,
                     "loss": store.metric_history(r.run_id, "loss") if "loss" in r.metrics_ else None,
                     "val": {k: store.metric_history(r.run_id, k) for k in keys}})
    report.written += figures.training_curves(runs, out_dir=report.out / "figures", stem="training_curves")
    sec.figures.append(("training_curves", "Training loss and validation PSNR against step."))
    report.sections.append(sec)


# -------------------------------------------------------------------------------------------------------- ablations
def _ablation_sections(report: Report, store: Store, ablations: dict, bn_ablation: Benchmark | None,
                       protocol: str, boot: dict) -> None:
    sec = Section("Ablations")
    for name, frame in ablations.items():
        if frame is None:
            report.notes.append(f"Experiment `{name}` does not exist: that ablation is omitted.")
            continue
        report.sources.append(f"`{name}`: {len(frame)} finished ablation run(s)")
        if frame.empty:
            sec.text.append(f"`{name}`: no finished ablation runs.")
            continue
        for sweep in sorted(set(frame["sweep"])):
            pts_frame = frame[frame["sweep"] == sweep]
            t = tables.ablation_table(name, sweep, pts_frame, **boot)
            if t is None:
                continue
            sec.tables.append(t)
            varying, primary, pts = tables.ablation_points(pts_frame)
            datasets = tables.sweep_datasets(pts)
            plot_pts = [_ablation_plot_point(p, primary, datasets) for _, p in pts.iterrows()]
            seeds = sorted({len(p["runs"]) for _, p in pts.iterrows()})
            spread = (f"mean over {seeds[0]} seed(s) per point" if len(seeds) == 1 else
                      f"mean over {seeds[0]}-{seeds[-1]} seeds per point") + (
                " with ±1 standard deviation error bars" if seeds[-1] > 1 else "")
            stem = t.name
            if primary == "group":
                report.written += figures.ablation_group_plot(plot_pts, datasets, title=f"{sweep}: PSNR vs group",
                                                              out_dir=report.out / "figures", stem=stem)
                cap = (f"Sweep `{sweep}`: PSNR against group size ({spread}; left), parameters / Mult-Adds / latency "
                       "(right, log scale).")
            else:
                report.written += figures.ablation_category_plot(plot_pts, datasets, title=f"{sweep}",
                                                                 out_dir=report.out / "figures", stem=stem)
                cap = (f"Sweep `{sweep}`: PSNR per point and dataset ({spread}; left), parameters / Mult-Adds / latency "
                       "(right, log scale).")
            sec.figures.append((stem, cap))
    if bn_ablation is None:
        report.notes.append(f"Experiment `{BN_ABLATION}` does not exist: the BatchNorm ablation is omitted.")
    else:
        if not any(src.startswith(f"`{BN_ABLATION}`") for src in report.sources):
            report.sources.append(f"`{BN_ABLATION}`: {bn_ablation.n_finished} finished cell run(s)")
        protos = tables.protocols(bn_ablation, None, protocol)
        t = tables.bn_table(bn_ablation, protos[0], name="ablation_bn", **boot) if protos else None
        if t:
            t.title = "BatchNorm ablation (experiments/ablation_bn.yaml, evaluation only): " + t.title
            sec.tables.append(t)
        else:
            sec.text.append(f"`{BN_ABLATION}`: no model with both eval and batch cells.")
    if sec.tables or sec.text or sec.figures:
        report.sections.append(sec)


def _ablation_plot_point(p, primary: str | None, datasets: list[str]) -> dict:
    """A point of an ablation plot: PSNR mean and standard deviation over its seeds per dataset (no std for 1), and
    the cost figures; latency as the table has it (over the seeds that measured it: the first one only)."""
    from srbench.report.seedstats import mean_std

    stats = {d: mean_std(tables.seed_values(p["runs"], d).values()) for d in datasets}
    return {"label": p["point"], "x": p["values"].get(primary), "series": p["series"],
            "psnr": {d: m for d, (m, _, _) in stats.items() if m is not None},
            "psnr_std": {d: sd for d, (_, sd, _) in stats.items() if sd is not None},
            "params": p["metrics_"].get("params"), "mult_adds_g": p["metrics_"].get("mult_adds_g"),
            "latency_ms": tables.mean_metric(p["runs"], "latency_ms")[0], "baseline": bool(p["is_baseline"])}


# ----------------------------------------------------------------------------------------------------------- write
def _write(report: Report, write_readme) -> None:
    """Write the tables and README, then remove what the previous run wrote and this one did not (per the manifest)."""
    out = report.out
    for sec in report.sections:
        for t in sec.tables:
            report.written += write_table(t, out / "tables")
    report.written.append(write_readme(report))
    written = sorted({p.resolve().relative_to(out.resolve()).as_posix() for p in report.written})
    manifest = out / MANIFEST
    before = manifest.read_text(encoding="utf-8").splitlines() if manifest.is_file() else []
    for name in sorted(set(before) - set(written)):
        path = out / name
        if ".." not in Path(name).parts and path.is_file():   # only files inside <out>, as the manifest lists them
            path.unlink()
    manifest.write_text("".join(f"{name}\n" for name in written), encoding="utf-8")
