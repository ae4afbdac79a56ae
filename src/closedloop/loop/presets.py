"""Named run configs, as TOML text (each key documented in closedloop.loop.config), and the
catalogue ``closedloop presets`` prints (``closedloop run --preset NAME`` runs one).

- ``embedded``: the defaults (``closedloop run`` with no config), the main job: self-play from
  the base model ``closedloop pretrain`` built offline and the package ships
  (``model.kind = "base"``): no cold-start SFT, a seed pool of depth 1-3
  grammar programs (the shipped base was taught programs of one to three steps), 600
  held-out tasks (three seeds of reasoning-gym list_functions) scored greedy and filtered
  from 4 samples, and the reading probe of every policy at the end. GRPO alone, at 1e-4,
  measured on forks of one cold start (600 held-out tasks, greedy): from the list-positions
  base (0.200), three iterations ended at 0.125 with hindsight relabels (their supervised
  step at 2e-4), 0.180 at 5e-5, 0.187 at 2e-5, 0.198 without them; GRPO without them, 9
  iterations, at 1e-4 / 2e-4 / 3e-4 gave 0.200 / 0.223 (the gate promotes, p = 0.012) /
  0.172, and at 5e-4 0.177 after 3. From the varied-instruction base (0.370), 9 iterations:
  1e-4 0.372, 2e-4 0.327 (reverse tasks forgotten, 0.84 -> 0.28, for ``x + 9``), 2e-4 with a
  KL penalty (beta 0.1) 0.352, 2e-4 with 64 replayed base examples per update (replay_coef
  1.0 / 0.3) 0.345 / 0.340; expert iteration 0.323; 40 iterations at 1e-4 0.365. From the
  relational base shipped after it (0.375), seeds 0 / 1 / 2: 0.362 / 0.342 / 0.368
  (docs/loop.md); seed 0 at 2e-4 0.358, at 1e-4 with 64 replayed base examples (replay_coef
  1.0) 0.370. From the composition base (0.387): 0.343 / 0.358 / 0.393; from the identity
  base (0.430), shipped since: 0.432 / 0.422 / 0.442 (gate p = 0.50 / 0.87 / 0.08), and with
  64 replayed base examples per update at replay_coef 0.3 (the preset since) 0.443 / 0.445 /
  0.433 (gate p = 0.038 / 0.054 / 0.41; at replay_coef 1.0, seed 0, 0.418; 24 iterations
  evaluated only at the end, seed 0, 0.437). From the continued base (0.453): 0.438 / 0.447 /
  0.465, controls 0.442 / 0.447 / 0.462 (gate p = 0.99 / 0.88 / 0.095). From the stage-9
  base (0.475), shipped since: 0.472 / 0.453 / 0.468, controls 0.472 / 0.427 / 0.435 (gate
  p = 0.73 / 0.999 / 0.87); with 12 drawn private tests a pool task (the preset since):
  0.470 / 0.478 / 0.462, controls 0.455 / 0.465 / 0.430 (gate p = 0.82 / 0.39 / 0.99);
  with ambiguous proposals refused (the preset since): 0.457 / 0.470 / 0.457, controls
  0.472 / 0.447 / 0.430 (gate p = 0.99 / 0.85 / 1.00).
- ``scratch``: what the main job was before the shipped base: a ~2 M parameter model built
  and cold-started here on 3,000 grammar tasks of depth 1-2 (4 passes), then nine
  iterations with hindsight relabels at GRPO 5e-5, 200 held-out tasks, greedy only. Its
  cold start barely reads its examples (reading probe 0.077), so self-play only sharpens its
  prior (held-out 0.065 -> 0.080, control 0.050; docs/loop.md, "Before the base").
- ``quick``: the whole loop in a minute or two on 2 CPU cores, report included: a tiny model
  with its own small cold start, four iterations, 50 held-out tasks evaluated every
  iteration. It shows every phase, plot and line of the output; its numbers mean nothing
  (a few tasks of 50 either way).
- ``short``: the scratch preset shrunk further to run the whole loop in CI (a smoke run).
- ``real-model``: a Hugging Face code model on one GPU (``closedloop run --preset real-model
  --model PATH``, e.g. a local copy of Qwen2.5-Coder-1.5B-Instruct): the challenger writes
  general Python tasks; samples come from a vLLM engine in the same process
  (``model.generation = "vllm"``, 30% of the GPU's memory), which is handed the trained
  weights, LoRA merged, before the first sample after every update; the trainer is the
  project's GRPO on a LoRA adapter (rank 16 on every attention and MLP projection, bfloat16
  base) at learning rate 1e-5; no cold start and no control (an HF model has no cold-start
  corpus of its own); held out: HumanEval+ Mini (164, the **primary** set: the gate's) and MBPP+
  (378), both shipped, their expected outputs computed in the sandbox when the run is created.
  Without vLLM it stops at start-up and says so; ``--generation hf`` runs the same config with
  the trained model sampling itself (the CPU stand-in the tests run, with a tiny model and
  trimmed sizes). No part of it has run on a GPU in this project (README, "Real-model
  preset").
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from closedloop.loop.config import RunConfig

# What the model built from scratch (the scratch preset, and quick and short, which shrink it)
# trains and is judged with, where the defaults (self-play from the shipped base) differ:
# hindsight relabels, GRPO at 5e-5 with no replay, 200 held-out tasks, greedy only, no probe.
_SCRATCH_TRAIN = """\
[train]
hindsight = true
replay_examples = 0
[train.grpo]
learning_rate = 5e-5
replay_coef = 0.0
"""
_SCRATCH_EVAL = """\
heldout_seeds = [20250807]
samples = 0
probe_per = 0
"""

# The quick preset departs from short in what makes the loop visibly work in a minute: a
# model four times wider with 20 times the corpus (300 SFT steps), the challenger sampling
# at 0.7 and needing 2 shown inputs and 1 wrong version instead of 3 and 3, and no novelty
# rejection (the tiny model proposes the pool's commonest programs); without these no
# proposal is accepted and no plot has a line. One torch thread: see RunConfig.threads.
QUICK = f"""\
name = "quick"
iterations = 4
threads = 1
[model]
kind = "embedded"
hidden_size = 64
num_layers = 2
vocab_size = 512
[cold_start]
corpus_size = 1200
max_depth = 2
[challenger]
proposals = 12
novelty = false
temperature = 0.7
public_tests = 2
min_failure_cases = 1
max_new_tokens = 96
max_mutants = 0
[solver]
tasks_per_iteration = 8
samples = 4
max_new_tokens = 48
{_SCRATCH_TRAIN}[eval]
heldout_size = 50
max_new_tokens = 48
every = 1
{_SCRATCH_EVAL}"""

SCRATCH = f"""\
name = "scratch"
[model]
kind = "embedded"
[cold_start]
max_depth = 2
{_SCRATCH_TRAIN}[eval]
{_SCRATCH_EVAL}"""

SHORT = f"""\
name = "short"
iterations = 2
[model]
kind = "embedded"
hidden_size = 32
num_layers = 1
vocab_size = 320
[cold_start]
corpus_size = 60
max_depth = 2
[challenger]
proposals = 3
max_new_tokens = 48
max_mutants = 0
[solver]
tasks_per_iteration = 3
samples = 2
max_new_tokens = 16
{_SCRATCH_TRAIN}[eval]
heldout_size = 6
max_new_tokens = 16
{_SCRATCH_EVAL}"""

MODEL_PLACEHOLDER = "REPLACE-WITH-A-MODEL-DIRECTORY"
"""``model.path`` of the real-model preset until ``--model PATH`` (or an edit) replaces it."""

REAL_MODEL = """\
name = "real-model"
domain = "code"
iterations = 20
challenger_prompt = "Propose a new Python programming task: an instruction, at least five calls f(...) with literal arguments under 'Inputs:', the solution under 'Solution:', and three subtly wrong versions, each under 'Wrong:'."
[model]
kind = "hf"
path = "{MODEL_PLACEHOLDER}"  # or: closedloop run real.toml --model PATH
generation = "vllm"
dtype = "bfloat16"
[model.lora]
r = 16
alpha = 32
dropout = 0.0
target_modules = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
[model.vllm]
gpu_memory_utilization = 0.3
max_model_len = 4096
[cold_start]
corpus_size = 0
[challenger]
proposals = 64
max_new_tokens = 768
public_tests = 3
max_mutants = 20
min_mutation_score = 0.5
[solver]
tasks_per_iteration = 64
samples = 8
turns = 2
max_new_tokens = 512
[train]
algorithm = "grpo"
hindsight = true
replay_examples = 0
[train.grpo]
learning_rate = 1e-5
minibatch_size = 32
replay_coef = 0.0
[eval]
heldout_sets = ["humanevalplus", "mbppplus"]
heldout_size = 378
max_new_tokens = 512
samples = 0
probe_per = 0
""".replace("{MODEL_PLACEHOLDER}", MODEL_PLACEHOLDER)


@dataclass(frozen=True)
class Preset:
    """A named run config and what a user needs to choose it."""

    name: str
    toml: str
    """The config as TOML text (empty: every default)."""
    runs: str
    """What it runs, in a few words."""
    time: str
    """How long it takes, as measured on 2 CPU cores (see the README)."""


CATALOGUE: tuple[Preset, ...] = (
    Preset(
        "quick",
        QUICK,
        "the whole loop, report included, on a tiny model: numbers mean nothing",
        "about 1 minute on 2 CPU cores",
    ),
    Preset(
        "embedded",
        "",
        "the main job: 9 self-play iterations from the shipped base, 600 held-out tasks, "
        "control, gate, probe",
        "4-8 minutes on 2 CPU cores: 4:05-7:48 over eight runs, nothing else running",
    ),
    Preset(
        "scratch",
        SCRATCH,
        "a ~2 M-parameter model built and cold-started here, then 9 iterations, control, gate",
        "9-12 minutes on 2 CPU cores",
    ),
    Preset(
        "short",
        SHORT,
        "the CI smoke run: a 1-layer model, 2 iterations, 6 held-out tasks",
        "about 40 seconds on 2 CPU cores",
    ),
    Preset(
        "real-model",
        REAL_MODEL,
        "a Hugging Face code model (--model PATH): vLLM generation, LoRA GRPO, HumanEval+/MBPP+ "
        "held out",
        "needs a GPU and vLLM; never run on one in this project",
    ),
)
"""Every preset, in the order ``closedloop presets`` lists them."""

BY_NAME: dict[str, Preset] = {p.name: p for p in CATALOGUE}
"""Preset name -> :class:`Preset`."""

PRESETS: dict[str, str] = {p.name: p.toml for p in CATALOGUE}
"""Preset name -> TOML text (``embedded`` is the empty config: all defaults)."""


RENAMED: dict[str, str] = {
    "base": "self-play from the shipped base is the embedded preset now (closedloop run, no "
    "--preset); the model built from scratch is --preset scratch",
}
"""Preset names of earlier versions -> what became of them (named in the error)."""


class UnknownPresetError(KeyError):
    """No preset has the name; the message lists the names there are."""

    def __str__(self) -> str:
        return str(self.args[0])


def preset_config(name: str, overrides: dict[str, Any] | None = None) -> RunConfig:
    """The run config of preset ``name``, with dotted-key ``overrides`` (as ``load_config``).

    Raises :class:`UnknownPresetError` for a name not in :data:`PRESETS` and
    ``ConfigError`` for an override the config refuses."""
    from closedloop.loop.config import config_from_dict

    if name in RENAMED:
        raise UnknownPresetError(f"no preset {name!r}: {RENAMED[name]}")
    if name not in PRESETS:
        raise UnknownPresetError(f"no preset {name!r}; there are: {', '.join(PRESETS)}")
    data = tomllib.loads(PRESETS[name])
    for dotted, value in (overrides or {}).items():
        node = data
        *parents, last = dotted.split(".")
        for p in parents:
            node = node.setdefault(p, {})
        node[last] = value
    return config_from_dict(data, f"preset {name}")
