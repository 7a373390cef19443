"""Are two stores' benchmark cells the same numbers? For checking that a change to the harness moved nothing.

    .venv/bin/python scripts/compare_stores.py OLD_URI NEW_URI [--experiment benchmark]
                                               [--db 0.002] [--ssim 0.00002] [--image-db 0.002]

Cells are matched by what they measure, not by key (a code change changes every key): model, weights, scale, BN mode,
protocol and runtime (tags of the FINISHED cell runs of the MLflow experiment ``--experiment`` in each store; the
newest run where several match; ``--any-runtime`` leaves the runtime out). For
every matched cell it compares each dataset's PSNR and SSIM (every ``psnr_*``/``ssim_*`` metric) and each image's
PSNR and SSIM in the ``per_image/<dataset>.csv`` artifacts, and LPIPS where both logged it; prints the largest
differences and every one past the tolerances, and exits 1 when there is one.
"""

from __future__ import annotations

import argparse
import csv
import sys
import tempfile

from srbench.track import tracking

IDENTITY = ("srbench.model", "srbench.weights", "srbench.scale", "srbench.bn_mode", "protocol.name",
            "srbench.runtime")


def cells(uri: str, experiment: str, identity: tuple[str, ...] = IDENTITY) -> dict[tuple, object]:
    """The FINISHED cell runs of ``experiment`` by identity; the newest where several share one."""
    client = tracking.client(uri)
    exp = client.get_experiment_by_name(experiment)
    if exp is None:
        sys.exit(f"error: {uri} has no experiment {experiment!r}")
    runs = client.search_runs([exp.experiment_id], "tags.`srbench.kind` = 'cell' and attributes.status = 'FINISHED'",
                              max_results=5000)
    out: dict[tuple, object] = {}
    for r in runs:  # newest first
        out.setdefault(tuple(r.data.tags.get(t, "") for t in identity), r)
    return out


def per_image(uri: str, run_id: str, dataset: str, tmp: str) -> dict[str, dict]:
    local = tracking.client(uri).download_artifacts(run_id, f"per_image/{dataset}.csv", tmp)
    with open(local, newline="") as fh:
        return {row["name"]: row for row in csv.DictReader(fh)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("old")
    parser.add_argument("new")
    parser.add_argument("--experiment", default="benchmark")
    parser.add_argument("--db", type=float, default=0.002, help="largest PSNR difference per cell (dB)")
    parser.add_argument("--ssim", type=float, default=0.00002, help="largest SSIM difference per cell")
    parser.add_argument("--image-db", type=float, default=0.002, help="largest PSNR difference per image (dB)")
    parser.add_argument("--lpips", type=float, default=1e-5, help="largest LPIPS difference per cell")
    parser.add_argument("--any-runtime", action="store_true",
                        help="match cells whatever runtime ran them (auto may choose another on a fresh probe)")
    args = parser.parse_args()
    identity = IDENTITY[:-1] if args.any_runtime else IDENTITY
    old, new = cells(args.old, args.experiment, identity), cells(args.new, args.experiment, identity)
    both = sorted(set(old) & set(new))
    print(f"{len(old)} cells in old, {len(new)} in new, {len(both)} matched")
    worst = {"cell psnr": 0.0, "cell ssim": 0.0, "cell lpips": 0.0, "image psnr": 0.0, "image ssim": 0.0}
    failures = []
    with tempfile.TemporaryDirectory() as tmp:
        for ident in both:
            a, b = old[ident].data.metrics, new[ident].data.metrics
            for name in sorted(set(a) & set(b)):
                kind = name.split("_", 1)[0].split(".", 1)[0]
                limit = {"psnr": args.db, "ssim": args.ssim, "lpips": args.lpips}.get(kind)
                if limit is None:
                    continue
                diff = abs(a[name] - b[name])
                worst[f"cell {kind}"] = max(worst[f"cell {kind}"], diff)
                if diff > limit:
                    failures.append(f"{ident} {name}: {a[name]} vs {b[name]}")
            for name in [m for m in a if m.startswith("n_images.") and m in b]:
                dataset = name.split(".", 1)[1]
                rows_a = per_image(args.old, old[ident].info.run_id, dataset, f"{tmp}/a")
                rows_b = per_image(args.new, new[ident].info.run_id, dataset, f"{tmp}/b")
                if set(rows_a) != set(rows_b):
                    failures.append(f"{ident} {dataset}: different images")
                    continue
                for image in rows_a:
                    dp = abs(float(rows_a[image]["psnr"]) - float(rows_b[image]["psnr"]))
                    ds = abs(float(rows_a[image]["ssim"]) - float(rows_b[image]["ssim"]))
                    worst["image psnr"], worst["image ssim"] = max(worst["image psnr"], dp), max(worst["image ssim"], ds)
                    if dp > args.image_db:
                        failures.append(f"{ident} {dataset}/{image}: PSNR differs by {dp:.6f} dB")
    print("largest differences: " + ", ".join(f"{k} {v:.3g}" for k, v in worst.items()))
    for line in failures:
        print("DIFFERS", line)
    print(f"{len(failures)} difference(s) past the tolerances")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
