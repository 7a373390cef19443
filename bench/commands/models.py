"""``srbench models``: the registry with its complexity figures and the available released weights.

srbench's own networks are multi-scale (one head per scale); the field's released models are single-scale, one
network and file per scale (their row lists each scale's count, x2 / x3 / x4), and declare the input range their
weights were trained on (the harness converts from [0, 1]).

``published``: the PSNR/SSIM papers print for the model (:mod:`srbench.models.published`), with their sources.

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


def _weights(name: str) -> list[dict]:
    """The catalogue records of a model, each with whether its file is in the store (and where it comes from)."""
    from srbench.models.weights import CATALOGUE, weights_file

    out = []
    for record in CATALOGUE.values():
        if record.arch != name:
            continue
        try:
            weights_file(record)
            available = True
        except Exception:
            available = False
        row = {"name": record.name, "available": available}
        if record.scale is not None:  # a field model's released file: one scale, and its provenance
            row.update({"scale": record.scale, "file": record.filename, "sha256": record.sha256,
                        "licence": record.licence, "repo": record.repo, "commit": record.commit, "path": record.path,
                        "constructor": record.constructor})
        out.append(row)
    return out


def _published(name: str) -> list[dict]:
    """The PSNR/SSIM papers print for the model (srbench.models.published), each with its source and flags."""
    from dataclasses import asdict

    from srbench.models.published import published

    return [{**asdict(r), "source": r.source.cite} for r in published(name)]


def _counts(model, scale: int) -> dict:
    from srbench.models.complexity import count_effective_params, mult_adds
    from srbench.track import schema

    return {schema.at_scale(schema.PARAMS, scale): count_effective_params(model, scale),
            schema.at_scale(schema.MULT_ADDS, scale): round(mult_adds(model, scale, OUT_HW) / 1e9, 4)}


def model_rows() -> list[dict]:
    """One record per registered model: its complexity figures (names of :mod:`srbench.track.schema`) and weights.

    A field model (single-scale, :mod:`srbench.models.zoo`) is one network per released scale: its ``params`` and
    ``params_effective`` are those of its largest scale's network, ``params_x<s>`` and ``mult_adds_g_x<s>`` each
    scale's own; it also carries ``input_range``, ``paper`` and per-file provenance under ``weights``.
    """
    from srbench.models import create_model, list_models, model_info
    from srbench.models.complexity import count_effective_params, count_params
    from srbench.models.field import FAMILIES
    from srbench.track import schema

    rows = []
    for name in list_models():
        family = FAMILIES.get(name)
        scales = family.scales if family else create_model(name).scales
        networks = {s: create_model(name, scales=s) for s in scales} if family else dict.fromkeys(scales,
                                                                                                  create_model(name))
        largest = networks[scales[-1]]
        row = {"model": name, "kind": "field" if family else "srbench", "scales": list(scales),
               "input_range": family.input_range if family else 1.0, "group": model_info(name).get("group"),
               schema.PARAMS: count_params(largest), schema.PARAMS_EFFECTIVE: count_effective_params(largest)}
        for s, net in networks.items():
            row.update(_counts(net, s))
        row.update({"measure_out": f"{OUT_HW[0]}x{OUT_HW[1]}", "weights": _weights(name),
                    "published": _published(name)})
        if family:
            row["paper"] = family.paper
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
    return ["model", "scales", "input", "group", "params (total)", "params (effective, all heads)",
            *[f"Mult-Adds x{s} (G, {out} out)" for s in scales], "weights", "published PSNR/SSIM"]


def _published_cell(records: list[dict]) -> str:
    """How many printed values the model has, and whether any is for another variant (``srbench models --json``
    lists them with their sources)."""
    if not records:
        return "-"
    other = sum(not r["for_released_weights"] for r in records)
    return f"{len(records)} values" + (f" ({other} for another variant)" if other else "")


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

    def params(r, key):  # a field model: one network per scale, each with its own count
        if r["kind"] != "field" or len(r["scales"]) == 1:
            return f"{r[key]:,}"
        return " / ".join(f"{r[schema.at_scale(schema.PARAMS, s)]:,}" for s in r["scales"])

    table = [[r["model"], "/".join(map(str, r["scales"])) + (" (single)" if r["kind"] == "field" else ""),
              f"[0, {r['input_range']:g}]", r["group"] if r["group"] is not None else "-", params(r, schema.PARAMS),
              params(r, schema.PARAMS_EFFECTIVE), *[madds(r, s) for s in scales],
              ", ".join(w["name"] + ("" if w["available"] else " (missing)") for w in r["weights"]) or "-",
              _published_cell(r["published"])]
             for r in rows]
    print(tabulate(table, headers=headers(scales), tablefmt="github", disable_numparse=True))
    return 0
