"""What the crop figures show, read from MLflow alone (no data store, no image the runs did not log).

For a crop (dataset, image, scale, box) and a protocol: every cell run of that dataset and scale that logged the
SR image (``crops/<Set>/<image>_x<s>.png``) gives a tile; the HR panel is the HR image the runs logged beside it
(``crops/<Set>/hr/<image>_x<s>.png``). A tile's crop PSNR/SSIM (Y, the box only) is the value its run logged for that
box at benchmark time (``crop.psnr_y...``, declared crops); for a box the run did not score (given with ``--crop``,
or declared after the run) it is computed here from the logged HR and SR images with the benchmark's own function
(:func:`srbench.track.crops.crop_scores`). Runs from before the HR image was logged give tiles without crop scores,
and the figure has no HR panel: the caption says so. Names: :mod:`srbench.track.schema`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from srbench.data.images import read_image, to_rgb
from srbench.report.collect import Benchmark, Store
from srbench.report.tables.format import num
from srbench.track import schema
from srbench.track.crops import box_inside, crop_scores


@dataclass
class CropPanel:
    """The tiles of one crop figure and what the store lacked for it."""

    hr: np.ndarray | None                               # the logged HR image (None: no run logged one)
    tiles: list[dict] = field(default_factory=list)     # label, crop, psnr, ssim, image_psnr, image_ssim
    missing: list[str] = field(default_factory=list)    # rows without a usable SR image, and why
    computed: list[str] = field(default_factory=list)   # tiles whose box scores were computed here, not logged
    color: str = "y"


def _logged_images(store: Store, res, artifact: str, hr_artifact: str):
    """(SR images per results row or the reason it is missing, the first logged HR image or None)."""
    srs, hr = {}, None
    for r in res.itertuples(index=False):
        path = store.artifact(r.run_id, artifact)
        srs[r.run_id] = to_rgb(read_image(path)) if path is not None else None
        if hr is None and (hp := store.artifact(r.run_id, hr_artifact)) is not None:
            hr = to_rgb(read_image(hp))
    return srs, hr


def _scores(bench: Benchmark, r, spec: dict, sr: np.ndarray, hr: np.ndarray | None) -> tuple:
    """(psnr, ssim, computed) of one tile's box: as its run logged them, else from the logged images, else none."""
    logged = bench.crop_metrics.get(r.run_id, {})
    keys = [schema.crop_metric(what, spec["dataset"], spec["image"], spec["box"]) for what in schema.CROP_METRICS]
    if keys[0] in logged:
        return logged[keys[0]], logged.get(keys[1]), False
    if hr is None:
        return None, None, False
    psnr, ssim = crop_scores(sr, hr, spec["box"])
    return psnr, ssim, True


def read_crop(store: Store, bench: Benchmark, protocol: str, spec: dict) -> CropPanel | str:
    """The panel of one crop under ``protocol``, or a sentence saying why there is none."""
    d, image, s, box = spec["dataset"], spec["image"], spec["scale"], spec["box"]
    res = bench.results[(bench.results["protocol"] == protocol) & (bench.results["dataset"] == d)
                        & (bench.results["scale"] == s)]
    if res.empty:
        return f"no cell runs for {d} x{s} under protocol {protocol}"
    artifact = schema.crop_artifact(d, image, s)
    srs, hr = _logged_images(store, res, artifact, schema.crop_hr_artifact(d, image, s))
    panel = CropPanel(hr=hr, color=str(res["metric_color"].iloc[0]) if "metric_color" in res else "y")
    for r in res.itertuples(index=False):
        sr = srs[r.run_id]
        if sr is None:
            panel.missing.append(f"{r.label} (run {r.short})")
            continue
        shape = hr.shape if hr is not None else sr.shape
        if sr.shape != shape:
            panel.missing.append(f"{r.label} (run {r.short}: SR image is {sr.shape[0]}x{sr.shape[1]}, HR "
                                 f"{shape[0]}x{shape[1]})")
            continue
        if not box_inside(shape, box):
            return f"the box lies outside the {shape[0]}x{shape[1]} image"
        psnr, ssim, computed = _scores(bench, r, spec, sr, hr)
        if computed:
            panel.computed.append(r.label)
        per = bench.per_image_of(r.run_id, d)   # the whole image's values as the cell measured them
        row = per[per["name"] == image] if per is not None else None
        whole = row.iloc[0] if row is not None and len(row) == 1 else {}
        top, left, h, w = box
        panel.tiles.append({"label": f"{r.label}", "crop": sr[top:top + h, left:left + w], "psnr": psnr, "ssim": ssim,
                            "image_psnr": num(whole.get("psnr")), "image_ssim": num(whole.get("ssim"))})
    return panel
