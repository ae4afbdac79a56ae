"""Named run configs, as TOML text (each key documented in closedloop.loop.config).

- ``embedded``: the defaults (``closedloop run`` with no config): list functions, a ~2 M
  parameter model built and cold-started here, reasoning-gym list_functions held out.
- ``short``: the embedded preset shrunk to run the whole loop in CI (a smoke run; its
  numbers mean nothing).
- ``real-model``: a Hugging Face code model on a GPU (``closedloop run --model PATH`` with this
  config): the challenger writes general Python tasks, HumanEval is held out (add MBPP with
  ``eval.heldout_files``), no cold start, GRPO at a small learning rate.
"""

from __future__ import annotations

SHORT = """\
name = "short"
iterations = 2
[model]
hidden_size = 32
num_layers = 1
vocab_size = 320
[cold_start]
corpus_size = 60
[challenger]
proposals = 3
max_new_tokens = 48
max_mutants = 0
[solver]
tasks_per_iteration = 3
samples = 2
max_new_tokens = 16
[eval]
heldout_size = 6
max_new_tokens = 16
"""

REAL_MODEL = """\
name = "real-model"
domain = "code"
iterations = 20
challenger_prompt = "Propose a new Python programming task: an instruction, at least five calls f(...) with literal arguments under 'Inputs:', the solution under 'Solution:', and three subtly wrong versions, each under 'Wrong:'."
[model]
kind = "hf"
path = "REPLACE-WITH-A-MODEL-DIRECTORY"  # or: closedloop run real.toml --model PATH
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
[train.grpo]
learning_rate = 1e-6
minibatch_size = 32
[eval]
heldout_size = 164
max_new_tokens = 512
"""

PRESETS: dict[str, str] = {"short": SHORT, "real-model": REAL_MODEL}
"""Preset name -> TOML text (``embedded`` is the empty config: all defaults)."""
