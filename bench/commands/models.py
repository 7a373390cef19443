"""``srbench models``: the registry with parameter counts and the available released weights."""

from __future__ import annotations

import json


def register(subparsers) -> None:
    p = subparsers.add_parser("models", help="list registered models, parameter counts and available weights",
                              description=__doc__)
    p.add_argument("--json", action="store_true", help="print machine-readable JSON")
    p.set_defaults(handler=run)


def run(args) -> int:
    from tabulate import tabulate

    from srbench.models import create_model, list_models, model_info
    from srbench.models.complexity import count_effective_params, count_params
    from srbench.models.weights import CATALOGUE, weights_file

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
        info = model_info(name)
        rows.append({"model": name, "group": info.get("group"), "params": count_params(model),
                     "params_effective": count_effective_params(model, 4), "weights": weights})
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    table = [[r["model"], r["group"] if r["group"] is not None else "-", f"{r['params']:,}",
              f"{r['params_effective']:,}",
              ", ".join(w["name"] + ("" if w["available"] else " (missing)") for w in r["weights"]) or "-"]
             for r in rows]
    print(tabulate(table, headers=["model", "group", "params", "effective", "weights"], tablefmt="github"))
    return 0
