"""The report's tables, pure functions of the frames :mod:`srbench.report.collect` fills (no MLflow call, no
artifact download in here): each returns a :class:`srbench.report.render.Table` (or None when it has nothing to
show) whose rows are in a fixed order and name the MLflow run(s) they came from (short ids).

One module per kind: :mod:`.format` (how values print), :mod:`.frames` (selecting rows), :mod:`.paper` (the paper
table), :mod:`.compare` (against a reference row; BatchNorm eval versus batch), :mod:`.published` (published versus
measured), :mod:`.table1` (the ECDN report's Table 1), :mod:`.efficiency` (efficiency and runtimes),
:mod:`.ablation` (the ablations) and :mod:`.training` (training runs). The names below are the package's interface.
"""

from srbench.report.tables.ablation import (ablation_findings, ablation_points, ablation_table, mean_metric,
                                            seed_values, sweep_datasets, sweep_stem)
from srbench.report.tables.compare import bn_table, find_identity, paired_ci, reference_table
from srbench.report.tables.efficiency import RUNTIME_ORDER, efficiency_table, runtime_table
from srbench.report.tables.format import DASH, fmt, fmt_g, fmt_params, marks, num
from srbench.report.tables.frames import measured_at, protocol_note, protocols, select, select_identity
from srbench.report.tables.paper import paper_table
from srbench.report.tables.published import paper_vs_measured, reproduction_summary
from srbench.report.tables.table1 import ECDN_SCALE, ECDN_SETS, ecdn_table1, ecdn_table1_agreement
from srbench.report.tables.training import training_table

__all__ = ["DASH", "ECDN_SCALE", "ECDN_SETS", "RUNTIME_ORDER", "ablation_findings", "ablation_points",
           "ablation_table", "bn_table", "ecdn_table1", "ecdn_table1_agreement", "efficiency_table", "find_identity",
           "fmt", "fmt_g", "fmt_params", "marks", "mean_metric", "measured_at", "num", "paired_ci", "paper_table",
           "paper_vs_measured", "protocol_note", "protocols", "reference_table", "reproduction_summary",
           "runtime_table", "seed_values", "select", "select_identity", "sweep_datasets", "sweep_stem",
           "training_table"]
