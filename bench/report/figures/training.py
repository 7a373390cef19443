"""The training curves: loss and validation PSNR against step, one colour per run, one line style per validation
key."""

from __future__ import annotations

from pathlib import Path

from srbench.report.figures.style import EXTRA_COLORS, PAGE_WIDTH, plain_log_axis, pyplot, save, styled


@styled
def training_curves(runs: list[dict], *, out_dir: Path, stem: str, title: str = "Training curves") -> list[Path]:
    """Loss and validation PSNR against step, one colour per run, one line style per validation key.

    ``runs``: dicts with label, loss (frame step/value or None), val ({key: frame step/value})."""
    plt = pyplot()
    fig, (ax_loss, ax_val) = plt.subplots(1, 2, figsize=(PAGE_WIDTH, 2.8))
    styles = ["-", "--", ":", "-."]
    val_keys = sorted({k for r in runs for k in r.get("val", {})})
    for i, r in enumerate(runs):
        c = EXTRA_COLORS[i % len(EXTRA_COLORS)]
        loss = r.get("loss")
        if loss is not None and len(loss):
            ax_loss.plot(loss["step"], loss["value"], color=c, linewidth=0.9, label=r["label"])
        for k, frame in sorted(r.get("val", {}).items()):
            if len(frame):
                ax_val.plot(frame["step"], frame["value"], color=c, linestyle=styles[val_keys.index(k) % 4],
                            marker="o", markersize=2, linewidth=0.9,
                            label=f"{r['label']} {k.split('.', 1)[-1]}")
    ax_loss.set_xlabel("step")
    ax_loss.set_ylabel("training loss")
    if any(r.get("loss") is not None and len(r["loss"]) and (r["loss"]["value"] > 0).all() for r in runs):
        ax_loss.set_yscale("log")
        plain_log_axis(ax_loss.yaxis)
    ax_val.set_xlabel("step")
    ax_val.set_ylabel("validation PSNR (dB)")
    for a in (ax_loss, ax_val):
        a.grid(True, color="#dddddd", linewidth=0.5)
        if a.get_legend_handles_labels()[0]:
            a.legend(loc="best", frameon=False)
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    return save(fig, out_dir, stem)
