"""``srbench train``: train a model from a recipe (experiments/train/*.yaml), resumable, logged to MLflow."""

from __future__ import annotations

from srbench.commands import options


def register(subparsers) -> None:
    p = options.subcommand(
        subparsers, "train", help="train a model from a recipe YAML (resumable, tracked in MLflow)", doc=__doc__,
        more="Checkpoints go to out_dir (default runs/<name>): last.pt every ckpt_every steps and on Ctrl-C, best.pt "
        "by validation PSNR. Multi-GPU: torchrun --nproc_per_node N -m srbench.cli train <recipe> --set num_gpu=N.",
        handler=run)
    p.add_argument("recipe", help="training recipe, e.g. experiments/train/ecdn_m_x2_cpu.yaml")
    p.add_argument("--resume", action="store_true", help="continue from out_dir/last.pt (same MLflow run)")
    p.add_argument("--max-steps", type=int, help="override max_steps (e.g. to extend a finished run)")
    options.device(p, None, otherwise="the recipe's")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override any recipe field (value parsed as YAML); repeatable")
    options.no_progress(p)


def run(args) -> int:
    from srbench.train.trainer import train
    from srbench.train.config import load_config

    config = load_config(args.recipe, overrides=args.overrides, max_steps=args.max_steps, device=args.device)
    result = train(config, resume=args.resume, progress=not args.no_progress, recipe=str(args.recipe))
    if result.final_weights is not None:  # rank 0
        val = ", ".join(f"x{s} {p:.3f} dB / {q:.4f}" for s, (p, q) in sorted(result.val.items()))
        print(f"trained {config.name} to step {result.step} in {result.train_seconds:.0f} s"
              + (f"; {config.val_dataset} {val}" if val else ""))
        print(f"weights: {result.final_weights}" + (f" (best: {result.best_weights}, {result.best_psnr:.3f} dB)"
                                                    if result.best_weights else ""))
        if result.run_id:
            print(f"MLflow run {result.run_id}: benchmark it with --weights run:{result.run_id}")
    return 0
