"""``srbench models``: the registry with its complexity figures and the available released weights.

Per model (default build: every scale's head): ``params`` (all parameters), ``params_effective`` (those some forward
pass at any scale uses: the ECDN report's count), ``params_x<s>`` (those a forward pass at x<s> uses; JSON only) and
``mult_adds_g_x<s>`` (G multiply-accumulates of one forward pass producing a 720x1280 output at x<s>), named as in
:mod:`srbench.track.schema` and computed by :mod:`srbench.models.complexity`, the functions the benchmark logs with.
"""

from __future__ import annotations

import json

#: output size (height, width) of the Mult-Adds column: 720p, as the CARN paper counts them
OUT_HW = (720, 1280)


def register(subparsers) -> None:
    p = subparsers.add_parser("models", help="list registered models, parameter counts, Mult-Adds and weights",
                              description=__doc__)
    p.add_argument("--json", action="store_true", help="print machine-readable JSON")
    p.set_defaults(handler=run)


def model_rows() -> list[dict]:
    """One record per registered model: its complexity figures (names of :mod:`srbench.track.schema`) and weights."""
    from srbench.models import create_model, list_models, model_info
    from srbench.models.complexity import count_effective_params, count_params, mult_adds
    from srbench.models.weights import CATALOGUE, weights_file
    from srbench.track import schema

    out = f"{OUT_HW[0]}x{OUT_HW[1]}"
    rows = []
    for name in list_models():
        model = create_model(name)
        weights = []
        for record in CATALOGUE.values():
            if record.arch != name:
                continue
            try:
                weights_file(record)
                weights.append({"name": record.name, "available": True})
            except Exception:
                weights.append({"name": record.name, "available": False})
        row = {"model": name, "group": model_info(name).get("group"), schema.PARAMS: count_params(model),
               schema.PARAMS_EFFECTIVE: count_effective_params(model)}
        row.update({schema.at_scale(schema.PARAMS, s): count_effective_params(model, s) for s in model.scales})
        row.update({schema.at_scale(schema.MULT_ADDS, s): round(mult_adds(model, s, OUT_HW) / 1e9, 4)
                    for s in model.scales})
        row.update({"measure_out": out, "weights": weights})
        rows.append(row)
    return rows


def add_profiles(rows: list[dict]) -> list[dict]:
    """``--json``: add the efficient-SR challenges' profile at the LR input ``profile_in`` (3x256x256) to each row,
    per scale it lists Mult-Adds for: ``activations_m_x<s>`` (M elements output by the convolutions),
    ``conv2d_calls_x<s>``, ``flops_g_ntire2022_x<s>`` and ``flops_g_fvcore_x<s>`` (G FLOPs under the NTIRE 2022
    organisers' counter and fvcore's; docs/challenge.md), as the benchmark logs them per cell; about half a second
    per model and scale. A forward pass at one scale
    counts the same work whether the network holds the other scales' heads or not, so each scale's network is built
    alone."""
    from srbench.eval.cell import profile_figures
    from srbench.models import create_model
    from srbench.models.challenge_counts import PROFILE_INPUT, challenge_profile
    from srbench.track import schema

    prefix = schema.MULT_ADDS + "_x"
    for row in rows:
        row["profile_in"] = "x".join(map(str, PROFILE_INPUT))
        for s in sorted(int(k[len(prefix):]) for k in list(row) if k.startswith(prefix)):
            figures = profile_figures(challenge_profile(create_model(row["model"], scales=s), s, PROFILE_INPUT))
            row.update({schema.at_scale(k, s): v for k, v in figures.items()})
    return rows


def headers(scales) -> list[str]:
    """The text table's column headers, each with its unit and, for Mult-Adds, the output size."""
    out = f"{OUT_HW[0]}x{OUT_HW[1]}"
    return ["model", "group", "params (total)", "params (effective, all heads)",
            *[f"Mult-Adds x{s} (G, {out} out)" for s in scales], "weights"]


def run(args) -> int:
    from tabulate import tabulate

    from srbench.track import schema

    rows = model_rows()
    if args.json:
        print(json.dumps(add_profiles(rows), indent=2))
        return 0
    scales = sorted({int(k.rsplit("_x", 1)[1]) for r in rows for k in r if k.startswith(schema.MULT_ADDS + "_x")})

    def madds(r, s):
        value = r.get(schema.at_scale(schema.MULT_ADDS, s))
        return "-" if value is None else "0" if value == 0 else f"{value:.1f}"

    table = [[r["model"], r["group"] if r["group"] is not None else "-", f"{r[schema.PARAMS]:,}",
              f"{r[schema.PARAMS_EFFECTIVE]:,}", *[madds(r, s) for s in scales],
              ", ".join(w["name"] + ("" if w["available"] else " (missing)") for w in r["weights"]) or "-"]
             for r in rows]
    print(tabulate(table, headers=headers(scales), tablefmt="github", disable_numparse=True))
    return 0
