"""Auto's runtime choices as the tracking store holds them: a lookup by choice key among an experiment's runs.

The benchmark hands :func:`stored_choices` to :class:`srbench.runtime_choice.cells.CellRuntimes`, so that a
shard or a requeue on another machine takes the choice any run of the experiment recorded for the same network, BN
mode, scale and device instead of probing again.
"""

from __future__ import annotations

import json
from collections.abc import Callable

from srbench.runtime_choice.use import CHOICE_KEY_TAG, SELECTION_TAG
from srbench.track.run_writer import call


def stored_choices(client, experiment_id: str) -> Callable[[str], dict | None]:
    """A lookup of auto's choice by its key among the experiment's runs (any status, deleted ones too: a killed
    cell's choice is as good as a finished one's). FINISHED runs first, then by run id, so that every reader takes
    the same record should two differ."""
    from mlflow.entities import ViewType

    def lookup(key: str) -> dict | None:
        runs = call(client, "search_runs", [experiment_id], f"tags.`{CHOICE_KEY_TAG}` = '{key}'",
                    run_view_type=ViewType.ALL, max_results=50)
        for run in sorted(runs, key=lambda r: (r.info.status != "FINISHED", r.info.run_id)):
            try:
                return json.loads(run.data.tags.get(SELECTION_TAG, ""))
            except ValueError:
                continue
        return None

    return lookup
