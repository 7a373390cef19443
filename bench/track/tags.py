"""Every ``srbench.*`` MLflow tag: its name, what it means and who writes it, in one place for writers and readers.

Each tag is a plain string constant (use it as the key of a tag dict or in a search filter), registered in
:data:`TAGS` with a :class:`Tag` record; a family of tags with a variable tail (``srbench.env.<library>``) has a
function that builds its names. The names are part of every store ever written: a store written by an earlier
srbench is read by this one, so a name here never changes (add a new tag instead).

Writers: ``runner`` (:mod:`srbench.track.benchmark`: benchmark cells and their parent run), ``score``
(:mod:`srbench.track.score`), ``explain`` (:mod:`srbench.track.explain_log`), ``trainer``
(:mod:`srbench.train.trainer`), ``ablate`` (:mod:`srbench.train.ablate`), ``claims``/``orphans``/``hosts`` (concurrency bookkeeping), ``logged_models``
(:mod:`srbench.track.logged_models`), ``api`` (:mod:`srbench.api.log`). Readers: :mod:`srbench.report.collect` and the
other report modules, :mod:`srbench.track.logged_models`, :mod:`srbench.track.run_weights`, the UI helpers.
(``srbench.runtime*`` tags are written by :mod:`srbench.eval.runtimes` (writer ``runtimes``), which sits below this
layer and cannot import it: they are registered here by name, and a test checks that a cell run carries no tag this
schema lacks.)
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Tag:
    """One tag of the schema."""

    name: str
    meaning: str
    writers: tuple[str, ...]


#: name -> record, every tag of the schema
TAGS: dict[str, Tag] = {}


def _tag(name: str, meaning: str, *writers: str) -> str:
    TAGS[name] = Tag(name, meaning, writers)
    return name


# -- what a run is ---------------------------------------------------------------------------------------------------
KIND = _tag("srbench.kind", "what the run is: cell, benchmark, train, explain or claim",
            "runner", "score", "explain", "trainer", "claims")
KIND_CELL, KIND_BENCHMARK, KIND_TRAIN, KIND_EXPLAIN, KIND_CLAIM = "cell", "benchmark", "train", "explain", "claim"
CELL_KEY = _tag("srbench.cell_key", "hash of everything that can move the run's numbers (srbench.track.cells); a "
                "FINISHED run with the same key is reused", "runner", "score", "explain")
LABEL = _tag("srbench.label", "the row label the tables show", "runner", "score", "explain")
MODEL = _tag("srbench.model", "the registered model name (a scored folder: its label)",
             "runner", "score", "explain", "trainer")
ARCH = _tag("srbench.arch", "the architecture of the model record (srbench.track.logged_models.model_identity reads "
            "it): the model name, or sr-dir for a scored folder", "runner", "score", "explain")
GROUP = _tag("srbench.group", "the group-convolution setting of a training run", "trainer")
SCALE = _tag("srbench.scale", "the upscaling factor", "runner", "score", "explain", "trainer", "ablate")
BN_MODE = _tag("srbench.bn_mode", "BatchNorm mode of the cell: eval or batch (absent: eval)", "runner")
DATASETS = _tag("srbench.datasets", "the datasets measured, comma-separated", "runner", "score", "explain")
DATASET = _tag("srbench.dataset", "the dataset id an explain run measured", "explain")
LPIPS_DATASETS = _tag("srbench.lpips_datasets", "the dataset ids LPIPS was measured on, comma-separated", "runner")
SR_DIR = _tag("srbench.sr_dir", "the scored folder of SR images", "score")

# -- weights ---------------------------------------------------------------------------------------------------------
WEIGHTS = _tag("srbench.weights", "the weights' name (sr-dir: a scored folder)", "runner", "score", "explain")
WEIGHTS_SHA256 = _tag("srbench.weights_sha256", "sha256 of the weights file (a scored folder: its content "
                      "fingerprint)", "runner", "score", "explain")
WEIGHTS_SOURCE = _tag("srbench.weights_source", "where the weights came from (path, URL or run)", "runner", "score")
WEIGHTS_KEY = _tag("srbench.weights_key", "the checkpoint key the state_dict was read from, where given", "runner")
MODEL_CODE = _tag("srbench.model_code", "an external model's code hash", "runner")
INPUT_RANGE = _tag("srbench.input_range", "the range the network takes its input in: 1 or 255", "runner")


def trained_weights_sha256(which: str) -> str:
    """``srbench.weights_sha256.final`` / ``.best``: sha256 of a training run's exported weights (trainer)."""
    return f"{WEIGHTS_SHA256}.{which}"


# -- inference knobs -------------------------------------------------------------------------------------------------
ENSEMBLE = _tag("srbench.ensemble", "self-ensemble of the inference: none or its kind", "runner")
TILE = _tag("srbench.tile", "tile size of the inference, or none", "runner")
TILE_OVERLAP = _tag("srbench.tile_overlap", "overlap of the tiles, where tiled", "runner")
INFERENCE = _tag("srbench.inference", "the inference suffix the row name carries (+, [tile S/N], empty)", "runner")

# -- measurement environment -----------------------------------------------------------------------------------------
DEVICE = _tag("srbench.device", "the device type: cpu or cuda", "runner", "score", "explain", "trainer", "ablate")
DEVICE_NAME = _tag("srbench.device_name", "the device in words", "runner", "score", "explain", "ablate")
THREADS = _tag("srbench.threads", "torch's intra-op thread count", "runner", "score", "explain", "ablate")
TORCH = _tag("srbench.torch", "torch's version", "runner", "score", "explain", "trainer", "ablate")
GIT_COMMIT = _tag("srbench.git_commit", "the checkout's commit (-dirty with local changes)",
                  "runner", "score", "explain", "trainer", "ablate")
CODE_VERSION = _tag("srbench.code_version", "hash of srbench.eval's import closure (srbench.track.cells)",
                    "runner", "score", "explain", "ablate")
RUNTIME = _tag("srbench.runtime", "the inference runtime that ran the forward passes (absent: eager)",
               "runtimes", "explain")
RUNTIME_REQUESTED = _tag("srbench.runtime_requested", "the runtime asked for: auto or a declared one", "runtimes")
RUNTIME_VERSIONS = _tag("srbench.runtime_versions", "the runtime's package versions, name=version", "runtimes")
RUNTIME_CHOICE = _tag("srbench.runtime_choice", "how auto chose, one line", "runtimes")
RUNTIME_GATE = _tag("srbench.runtime_gate", "the fidelity gate's verdict, one line", "runtimes")
RUNTIME_CHOICE_KEY = _tag("srbench.runtime_choice_key", "the key of auto's choice (what other machines look up)",
                          "runtimes")
RUNTIME_SELECTION = _tag("srbench.runtime_selection", "auto's choice as JSON (its timings and verdicts)", "runtimes")
RUNTIME_COMPARE = _tag("srbench.runtime_compare", "1 on the cells of a runtime comparison", "runner")


#: The families of tags with a variable tail (see the functions below).
FAMILIES = ("srbench.env.", "srbench.cuda.", "srbench.dataset_fingerprint.", "srbench.weights_sha256.")


def is_known(name: str) -> bool:
    """Whether ``name`` is a tag of this schema (a registered one, or one of a family)."""
    return name in TAGS or name.startswith(FAMILIES)


def env(library: str) -> str:
    """``srbench.env.<library>``: a library's version in the measurement environment."""
    return f"srbench.env.{library}"


def cuda(key: str) -> str:
    """``srbench.cuda.<key>``: the CUDA identity of the device (driver, capability...)."""
    return f"srbench.cuda.{key}"


def dataset_fingerprint(dataset_id: str) -> str:
    """``srbench.dataset_fingerprint.<id>``: the fingerprint of a dataset's files at the run's scale and LR source."""
    return f"srbench.dataset_fingerprint.{dataset_id}"


#: The prefix of a protocol knob's tag (``protocol.<knob>``; not an srbench.* tag, listed for completeness).
PROTOCOL_PREFIX = "protocol."

# -- what the measurement was ----------------------------------------------------------------------------------------
MEASURE_OUT = _tag("srbench.measure_out", "HxW output size Mult-Adds, latency and memory were measured at", "runner")
PROFILE_IN = _tag("srbench.profile_in", "CxHxW LR input of the challenge profile", "runner")
RUNTIME_FORM = _tag("srbench.runtime_form", "how the challenge runtime was measured", "runner")
LATENCY_CLOCK = _tag("srbench.latency_clock", "what timed the latency: cuda_events or wall", "runner")
SHARED_FROM = _tag("srbench.shared_from", "the cell runs whose forward passes this one reused, comma-separated",
                   "runner")

# -- the invocation's parent run -------------------------------------------------------------------------------------
EXPERIMENT_FILE = _tag("srbench.experiment_file", "the experiment file of a benchmark invocation", "runner")
SHARD = _tag("srbench.shard", "K/N: the part of the cells this invocation ran", "runner")
SCORE_FORMULA = _tag("srbench.score.formula", "a declared challenge score's formula", "runner")
SCORE_REFERENCE = _tag("srbench.score.reference", "the reference model of the challenge score", "runner")
SCORE_DATASET = _tag("srbench.score.dataset", "the dataset the challenge score is computed on", "runner")
SCORE_MARGIN = _tag("srbench.score.psnr_margin_db", "the PSNR margin of the challenge score (dB)", "runner")
SCORE_THRESHOLD = _tag("srbench.score.psnr_threshold_db", "the PSNR threshold of the challenge score (dB)", "runner")

# -- concurrency bookkeeping -----------------------------------------------------------------------------------------
HOST = _tag("srbench.host", "the host name of the writing process", "hosts")
HOST_ID = _tag("srbench.host_id", "the host's id (boot id)", "hosts")
PID = _tag("srbench.pid", "the writing process's id", "hosts")
CACHE_MB = _tag("srbench.cache_mb", "a benchmark's cache budget in MiB (decoded images, shared outputs)", "runner")
HEARTBEAT = _tag("srbench.heartbeat", "a benchmark's or claim's heartbeat counter", "runner", "claims")
OWNER = _tag("srbench.owner", "on a claim: the parent run of the benchmark holding it", "claims")
CLAIM_KEY = _tag("srbench.claim_key", "the cell key a claim run holds", "claims")

# -- MLflow model records --------------------------------------------------------------------------------------------
MODEL_KEY = _tag("srbench.model_key", "hash of a model record's identity", "logged_models")
LOGGED_MODEL_ID = _tag("srbench.logged_model_id", "the model record a cell run is linked to", "logged_models")

# -- training runs ---------------------------------------------------------------------------------------------------
LOSS = _tag("srbench.loss", "the training loss", "trainer")
RECIPE = _tag("srbench.recipe", "the training recipe file", "trainer")
TRAIN_DATA = _tag("srbench.train_data", "the training data file", "trainer")
TRAIN_DATA_FINGERPRINT = _tag("srbench.train_data_fingerprint", "the training data's fingerprint", "trainer")
AMP_EFFECTIVE = _tag("srbench.amp_effective", "what the amp knob resolved to: bf16, fp16 or none", "trainer")
AMP_REASON = _tag("srbench.amp_reason", "why amp resolved so", "trainer")
WORLD_SIZE = _tag("srbench.world_size", "processes of the training", "trainer")
RESUMED_AT = _tag("srbench.resumed_at", "steps the run was resumed at, comma-separated", "trainer")
TRAIN_SECONDS = _tag("srbench.train_seconds", "wall time of all the training sessions", "trainer")
FAILURE = _tag("srbench.failure", "why a training run failed (non-finite loss)", "trainer")

# -- ablation points (a training run evaluated) ----------------------------------------------------------------------
SWEEP = _tag("srbench.sweep", "the ablation a training run is a point of", "ablate")
SWEEP_POINT = _tag("srbench.sweep_point", "JSON of the point's swept values", "ablate")
SWEEP_SEED = _tag("srbench.sweep_seed", "the point's seed", "ablate")
POINT_KEY = _tag("srbench.point_key", "hash of the point's identity (config, evaluation, code)", "ablate")
BUDGET = _tag("srbench.budget", "the training budget stated beside the ablation's conclusions", "ablate")
BASELINE = _tag("srbench.baseline", "true on the points the others are compared to", "ablate")
EVAL_DATASETS = _tag("srbench.eval_datasets", "the datasets a point was evaluated on", "ablate")
POINT_DONE = _tag("srbench.point_done", "1, written last: the point is trained and evaluated", "ablate")

# -- explain runs ----------------------------------------------------------------------------------------------------
EXPLAIN_PAIRS = _tag("srbench.explain_pairs", "1 when knob pairs were measured", "explain")
EXPLAIN_PUBLISHED = _tag("srbench.explain_published", "the published-value match printed with the table", "explain")
