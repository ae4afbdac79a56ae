"""Pretraining the base model offline: the embedded model taught to read list examples.

Why: a model trained from scratch in a few hundred SFT steps inside the loop's budget does not
learn to read input/output examples (reading probe 0.077), so self-play only sharpens its
prior. Reading is cheap with a clean representation and many fresh tasks
(shared/research/reading-representation.md), so it is built once, here, and shipped.

Recipe, top to bottom (:func:`pretrain`):

1. **Tokenizer and model**: the embedded model (:mod:`closedloop.policy.embedded`, one token
   per integer) with its BPE trained on ``tokenizer_steps`` batches drawn like the training
   data (a stream seeded apart from it), weights seeded by ``seed``.
2. **Data, fresh every step**: step ``s`` draws its batch from its own seed, so no task is
   seen twice and a resumed run sees exactly the batches an uninterrupted one would:
   - *single primitives*: grammar tasks of depth ``max_depth`` (1 by default: one step,
     followed by an aggregate in 30% of tasks, as the grammar draws), rendered by
     :func:`closedloop.loop.domain.cold_start_pairs` exactly as the loop renders solver prompts
     (instruction phrasings, one in three with inline examples);
   - *aggregates alone* (``aggregate_share``): ``[len(xs)]``, ``[max(xs)]``, ``[xs[2]]``...,
     which the grammar only draws after a step;
   - *challenger examples* (``challenger_share``): a proposal in the challenger's format, so
     the base can also propose tasks;
   - *relational rules* (``relational_share``, 0 by default): single rules whose outputs alone
     do not tell them (``x + c``, thresholds, reverse, slices, picks), so the examples must be
     compared input to output; they replace as many single primitives;
   - *the identity* (``identity_share``, 0 by default): outputs equal to their inputs, the
     program ``return xs``. The grammar's draws drop such tasks (a random program that leaves
     every input as it was, ``abs(x)`` on non-negative lists, teaches the wrong rule), so
     without them a base never sees the rule and guesses a lucky filter (``x > 3``) for it;
   - *focus rules* (``focus_share`` of ``focus``, none by default): single rules of the named
     kinds (:data:`FOCUS_KINDS`: ``x + c``, parity filters, picks by position...), each kind
     equally often, for a base that misreads those kinds; they replace as many single
     primitives.
3. **Objective**: each example's mean NLL over its completion tokens (the program; prompt
   tokens are never trained), averaged over examples, so a long proposal weighs no more than a
   short program (per token, proposals' random input numbers were ~85% of the loss and the
   probe stayed at 0.05 after 300 steps). Logits are computed only where a completion token is
   predicted; rows are right-padded, so the causal mask alone keeps padding out.
4. **Optimizer**: AdamW, linear warm-up then cosine decay to ``min_lr_ratio`` of the peak,
   gradient norm clipped at 1.0.
5. **Probe and stopping**: every ``probe_every`` steps the reading probe
   (:mod:`closedloop.loop.probe`, greedy, outputs from the sandbox) on ``probe_per`` tasks per
   primitive; training stops at ``steps``, at ``max_minutes``, when the probe reaches
   ``stop_at``, or when it has not gained ``min_gain`` over its best in ``patience`` probes.
6. **Checkpoints** every ``checkpoint_every`` steps (:mod:`closedloop.train.checkpoint`:
   weights, optimizer, step, RNG, curve, written atomically); ``resume`` continues from the
   latest, and the weights then equal an uninterrupted run's. ``init_from`` starts from an exported
   base's weights instead (it ships no optimizer state) at the step its curve ends on: how the
   shipped base's later stages were built on the earlier ones.
7. **Export**: bf16 safetensors, tokenizer, ``curve.csv``, ``probe.json`` and ``MODEL_CARD.md``
   (data, depth, steps, seed, wall time, machine, weight SHA-256, probe per primitive).

Two options change the representation and the signal, both off in the shipped recipe:
``value_embeddings`` (integer tokens start from sinusoidal features of their value) and
``deduction_per_step`` (program + input -> output examples on top of each batch). Together, at
3,600 steps, they read 0.530 on the final probe against the shipped base's 0.468 but scored
0.005 greedy on 600 held-out reasoning-gym tasks against 0.050 (23 distinct greedy programs
against 60): better on the grammar, narrower off it (docs/base-models/second-base-MODEL_CARD.md).

Departures from the research set-up it follows: the answer is the grammar's Python program
(not a class token), prompts are the loop's (natural-language instruction, chat template), and
the data is the whole single-primitive grammar (constants 1..9 included), not 12 classes.
"""

from __future__ import annotations

import csv
import dataclasses
import hashlib
import json
import math
import os
import platform
import random
import shutil
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from closedloop.loop.domain import GRAMMAR_INPUTS, INLINE_SHARE, grammar_task
from closedloop.loop.grammar import (
    MAX_ABS_VALUE,
    MAX_OUTPUT_LEN,
    GrammarTask,
    ListProgram,
    draw_examples,
    identity_task,
    random_input,
    random_program,
)
from closedloop.loop.phrasing import HELDOUT_PHRASINGS, fixed_instruction, varied_instruction
from closedloop.loop.probe import PRIMITIVES, PROBE_SEED
from closedloop.roles.prompts import solver_prompt
from closedloop.train.directories import replace_dir

SEED_OFFSET = 1_000_000
"""Pretraining draws grammar seeds from ``SEED_OFFSET + seed * SEED_STRIDE + step``, apart from
the loop's corpus and seed pool (seeds near the run seed and ``+ 7,919``)."""
SEED_STRIDE = 100_000
TOKENIZER_STREAM = SEED_STRIDE // 2
"""The tokenizer's corpus is drawn from steps ``TOKENIZER_STREAM ..`` (never trained on)."""
CURVE_FILE = "curve.csv"
PROBES_FILE = "probes.jsonl"
"""Every training probe, per primitive (one JSON object per line, in the work directory)."""
CARD_FILE = "MODEL_CARD.md"
PROBE_FILE = "probe.json"
CONFIG_FILE = "pretrain_config.json"
"""The :class:`PretrainConfig` a base was built with (the loop's control draws from the same
distribution)."""
CONTROL_STEP_OFFSET = 1_000_000
"""The loop's control draws its batches from steps this far past the base's last one (fresh
examples of the base's distribution that it never saw)."""
WEIGHTS_FILE = "model.safetensors"
INIT_DIR = "init"
CURVE_FIELDS = ("step", "seconds", "loss", "lr", "probe")


CHECKPOINTS_DIR = "checkpoints"
"""Where in ``--work-dir`` a build keeps its checkpoints (``--resume`` continues the latest)."""


@dataclass(frozen=True)
class PretrainConfig:
    """Everything a pretraining run depends on (saved in its checkpoints and model card)."""

    seed: int = 0
    """Seed of the weights, the tokenizer's corpus and every batch."""
    steps: int = 3400
    """Most optimizer steps (the cosine schedule spans them)."""
    batch_size: int = 64
    """Examples per optimizer step (all fresh)."""
    micro_batches: int = 2
    """Length-sorted slices a batch is computed in (less padding; same gradient)."""
    learning_rate: float = 2e-3
    """Peak learning rate."""
    warmup_steps: int = 100
    """Linear warm-up from 0 to the peak."""
    min_lr_ratio: float = 0.1
    """The cosine decays to this share of the peak at ``steps``."""
    weight_decay: float = 0.01
    """AdamW weight decay."""
    hidden_size: int = 192
    """Width of the residual stream."""
    intermediate_size: int = 512
    """Width of each MLP's hidden layer."""
    num_layers: int = 4
    """Transformer blocks."""
    num_heads: int = 4
    """Attention heads per block."""
    vocab_size: int = 2048
    """BPE vocabulary (the integer tokens come on top)."""
    integer_tokens: bool = True
    """One token per integer 0..999 (see closedloop.policy.embedded)."""
    value_embeddings: bool = False
    """Integer tokens start from features of their value (closedloop.policy.embedded's
    ``value_features``); needs ``integer_tokens``."""
    list_positions: bool = False
    """Each integer of a prompt's lists gets embeddings of its index in the list, from both
    ends (closedloop.policy.list_llama); needs ``integer_tokens``."""
    instruction_variety: bool = False
    """Draw each task's instruction from closedloop.loop.phrasing's generator (composed
    sentences, none, remarks) instead of the six fixed ones, so the base reads the examples
    whatever sentence stands above them."""
    tokenizer_steps: int = 40
    """Batches of text the BPE is trained on."""
    max_depth: int = 1
    """Most grammar steps per program (1: single primitives)."""
    aggregate_share: float = 0.2
    """Share of each batch that is an aggregate alone (``[len(xs)]``, ...)."""
    challenger_share: float = 0.05
    """Share of each batch in the challenger's proposal format."""
    relational_share: float = 0.0
    """Share of each batch drawn from the relational rules alone (:func:`relational_task`:
    rules whose outputs alone do not tell them, so the examples must be compared input to
    output), replacing as many ordinary grammar examples (the step's cost is unchanged)."""
    identity_share: float = 0.0
    """Share of each batch that is the identity rule
    (:func:`closedloop.loop.grammar.identity_task`), replacing as many ordinary grammar
    examples."""
    focus: tuple[str, ...] = ()
    """Rule kinds (:data:`FOCUS_KINDS`) that ``focus_share`` of each batch is drawn from."""
    focus_share: float = 0.0
    """Share of each batch drawn from the ``focus`` kinds alone (:func:`focus_task`), replacing
    as many ordinary grammar examples."""
    deduction_per_step: int = 0
    """Deduction examples added to each batch (:func:`deduction_pairs`: a program and an input
    in the prompt, the output list as the completion), on top of ``batch_size``."""
    probe_every: int = 100
    """Steps between reading probes (0: none until the end)."""
    probe_per: int = 6
    """Probe tasks per primitive during training (the final probe uses ``final_probe_per``)."""
    final_probe_per: int = 25
    """Probe tasks per primitive of the exported model's probe (0: no final probe)."""
    primitives: tuple[str, ...] = tuple(PRIMITIVES)
    """Probe primitives."""
    stop_at: float = 0.98
    """Stop once a probe reaches this."""
    patience: int = 0
    """Stop after this many probes without a gain of ``min_gain`` over the best (0: never).
    The shipped run used 0: on its 96-task probe the noise (about +-0.05) hid a slow rise,
    and 10 would have stopped it at step 2,600 with the learning rate still high."""
    min_gain: float = 0.01
    """What counts as a gain for ``patience``."""
    max_minutes: float | None = None
    """Stop after this much wall time (checked between steps)."""
    checkpoint_every: int = 100
    """Steps between checkpoints (0: only at the end)."""
    init_from: str | None = None
    """A base directory (``closedloop pretrain``'s output, e.g. the shipped base) whose weights
    this run starts from, at the step its curve ends on, so its batches are ones the base never
    saw. Its architecture must equal this run's, except that it may have fewer blocks: it is
    then grown to ``num_layers`` first (closedloop.train.grow; outputs unchanged). A base
    ships no optimizer state, so AdamW starts fresh and the learning rate is warmed up again
    over ``warmup_steps`` from there (a fresh Adam's first updates are ``lr * sign(grad)``-sized
    on every weight)."""

    def __post_init__(self) -> None:
        positive = ("steps", "batch_size", "micro_batches", "hidden_size", "num_layers")
        for name in positive:
            if getattr(self, name) < 1:
                raise ValueError(f"{name}={getattr(self, name)}: must be >= 1")
        if not self.learning_rate > 0:
            raise ValueError(f"learning_rate={self.learning_rate}: must be > 0")
        if self.hidden_size % self.num_heads:
            raise ValueError(
                f"hidden_size={self.hidden_size} is not divisible by num_heads={self.num_heads}"
            )
        # the challenger's examples come out of what is left after aggregates and relational
        # rules, and must fit in it
        room = 1 - self.aggregate_share - 2 * self.challenger_share
        if not 0 <= self.identity_share <= 1:
            raise ValueError(f"identity_share={self.identity_share}: must be within 0..1")
        if not 0 <= self.relational_share <= room - self.identity_share:
            raise ValueError(
                f"relational_share={self.relational_share}: must be within "
                f"0..{room - self.identity_share:g} (1 - aggregate_share - 2 * challenger_share "
                "- identity_share, so ordinary single rules remain beside the challenger's "
                "examples)"
            )
        left = room - self.identity_share - self.relational_share
        if not 0 <= self.focus_share <= left:
            raise ValueError(
                f"focus_share={self.focus_share}: must be within 0..{left:g} (what identity_share "
                "and relational_share leave of 1 - aggregate_share - 2 * challenger_share)"
            )
        unknown_kinds = [k for k in self.focus if k not in FOCUS_KINDS]
        if unknown_kinds:
            raise ValueError(f"focus kinds {unknown_kinds}: known are {', '.join(FOCUS_KINDS)}")
        if self.focus_share and not self.focus:
            raise ValueError(f"focus_share={self.focus_share} needs at least one focus kind")
        if not 0 <= self.aggregate_share + self.challenger_share <= 1:
            raise ValueError(
                f"aggregate_share + challenger_share = "
                f"{self.aggregate_share + self.challenger_share}: must be within 0..1"
            )
        if not 1 <= self.max_depth <= 4:
            raise ValueError(f"max_depth={self.max_depth}: must be within 1..4")
        unknown = [p for p in self.primitives if p not in PRIMITIVES]
        if unknown or not self.primitives:
            raise ValueError(f"primitives {unknown or '()'}: known are {', '.join(PRIMITIVES)}")
        if self.deduction_per_step < 0:
            raise ValueError(f"deduction_per_step={self.deduction_per_step}: must be >= 0")
        if self.value_embeddings and not self.integer_tokens:
            raise ValueError("value_embeddings needs integer_tokens (features of a token's value)")
        if self.list_positions and not self.integer_tokens:
            raise ValueError("list_positions needs integer_tokens (positions of integer tokens)")
        if self.max_minutes is not None and not self.max_minutes > 0:
            raise ValueError(f"max_minutes={self.max_minutes}: must be > 0")

    def architecture(self) -> dict[str, Any]:
        """The fields a checkpoint must share with the run resuming it."""
        keys = ("seed", "hidden_size", "intermediate_size", "num_layers", "num_heads")
        keys += ("vocab_size", "integer_tokens", "value_embeddings", "tokenizer_steps")
        arch = {k: getattr(self, k) for k in keys}
        if self.list_positions:  # only when on: checkpoints of earlier builds still resume
            arch["list_positions"] = True
        return arch


# ---- data ---------------------------------------------------------------------------------


def step_seed(cfg: PretrainConfig, step: int) -> int:
    """The seed every example of ``step`` is drawn from."""
    return SEED_OFFSET + cfg.seed * SEED_STRIDE + step


def aggregate_task(
    seed: int, n_inputs: int = GRAMMAR_INPUTS, tries: int = 20
) -> GrammarTask | None:
    """An aggregate alone (``return [len(xs)]``...) on ``n_inputs`` lists, with the grammar's
    rules for a usable task (:func:`closedloop.loop.grammar.sample_task`: runs on every input,
    short outputs, not all outputs equal, not all equal to the inputs); None if draws fail."""
    rng = random.Random(seed)
    for _ in range(tries):
        agg = random_program(rng, seed, max_depth=1, aggregate_prob=1.0).aggregate
        task = draw_examples(ListProgram((), agg, seed), rng, n_inputs)
        if task is not None:
            return task
    return None


def is_relational(prog: ListProgram) -> bool:
    """Whether a one-step program's rule can be told only by comparing inputs with outputs:
    ``x + c`` / ``x - c`` (outputs alone look like any list), ``x > c`` / ``x < c`` (which
    threshold), reverse, slices and picks by position (which elements). Sorting, ``x * c``,
    parity filters and sums show in the outputs alone; a base trained mostly on those learns
    to read the outputs and guess the rest."""
    codes = rule_codes(prog)
    return len(codes) == 1 and is_relational_rule(codes[0])


def rule_codes(prog: ListProgram) -> list[str]:
    """The expressions of a program's rules, its steps' then its aggregate's."""
    return [s.code for s in prog.steps] + ([prog.aggregate.code] if prog.aggregate else [])


def _one_rule(rng: random.Random, seed: int, aggregate_alone: bool) -> ListProgram:
    """A one-step program, or an aggregate alone, drawn from the grammar's distribution."""
    if aggregate_alone:
        agg = random_program(rng, seed, max_depth=1, aggregate_prob=1.0).aggregate
        return ListProgram((), agg, seed)
    return random_program(rng, seed, max_depth=1, aggregate_prob=0.0)


def is_relational_rule(code: str) -> bool:
    """Whether one grammar rule's expression (``[x + 3 for x in xs]``, ``xs[1:]``, ...) is
    one of :func:`is_relational`'s kinds."""
    return (
        code.startswith("[x + ")
        or code.startswith("[x - ")
        or " if x > " in code
        or " if x < " in code
        or code == "xs[::-1]"
        or (code.startswith("xs[") and ":" in code)
        or code.startswith("[xs[")
    )


def relational_task(
    seed: int, n_inputs: int = GRAMMAR_INPUTS, tries: int = 200
) -> GrammarTask | None:
    """A single-rule grammar task whose rule :func:`is_relational`, drawn from the grammar's
    own distribution by rejection (so constants and thresholds keep the grammar's ranges);
    None if draws fail. A quarter of the draws are aggregates alone (picks by position)."""
    rng = random.Random(seed)
    for _ in range(tries):
        prog = _one_rule(rng, seed, aggregate_alone=rng.random() < 0.25)
        if not is_relational(prog):
            continue
        task = draw_examples(prog, rng, n_inputs)
        if task is not None:
            return task
    return None


FOCUS_KINDS: dict[str, Callable[[str], bool]] = {
    "add": lambda code: code.startswith("[x + "),
    "sub": lambda code: code.startswith("[x - "),
    "mul": lambda code: code.startswith("[x * ") and not code.startswith("[x * x"),
    "even": lambda code: "if x % 2 == 0" in code,
    "odd": lambda code: "if x % 2 == 1" in code,
    "gt": lambda code: " if x > " in code,
    "lt": lambda code: " if x < " in code,
    "slice": lambda code: code.startswith("xs[") and ":" in code and code != "xs[::-1]",
    "pick": lambda code: code.startswith("[xs["),
}
"""Rule kinds a pretraining run can focus on, each told by its rule's expression (grammar
constants and thresholds keep the grammar's ranges: ``add`` is ``x + c`` for every ``c``)."""


def focus_task(
    seed: int, kinds: Sequence[str], n_inputs: int = GRAMMAR_INPUTS, tries: int = 400
) -> GrammarTask | None:
    """A single-rule grammar task of one of ``kinds`` (:data:`FOCUS_KINDS`), the kind drawn
    uniformly, the rule from the grammar's own distribution by rejection; None if draws fail.
    ``pick`` draws aggregates alone (``[xs[1]]``, ``[xs[-1]]``), the rest single steps."""
    rng = random.Random(seed)
    kind = rng.choice(list(kinds))
    wanted = FOCUS_KINDS[kind]
    for _ in range(tries):
        prog = _one_rule(rng, seed, aggregate_alone=kind == "pick")
        codes = rule_codes(prog)
        if len(codes) != 1 or not wanted(codes[0]):
            continue
        task = draw_examples(prog, rng, n_inputs)
        if task is not None:
            return task
    return None


DEDUCTION_PROMPT = "What does f return for xs = {xs}?\n{code}"
"""Prompt of a deduction example (the completion is the returned list's ``repr``)."""


def deduction_pairs(cfg: PretrainConfig, step: int, n: int) -> list[tuple[str, str]]:
    """``n`` deduction examples of ``step``: a grammar program of the base's depth and one
    input in the prompt, its output list as the completion.

    Why: an induction example supervises one or two decisive tokens of a program; running a
    program supervises every element of its output, so the model is taught, token by token,
    which input element each output element comes from (the alignment that tells ``xs[1:]``
    from ``xs[:-1]``) and what ``+ 3`` does to a number."""
    rng = random.Random(step_seed(cfg, step) * 1_000_003 + 900_000)
    out: list[tuple[str, str]] = []
    while len(out) < n:
        prog = random_program(rng, 0, max_depth=cfg.max_depth)
        xs = random_input(rng)
        try:
            ys = prog(xs)
        except (ValueError, IndexError, ZeroDivisionError):
            continue
        if len(ys) <= MAX_OUTPUT_LEN and all(abs(y) <= MAX_ABS_VALUE for y in ys):
            out.append((DEDUCTION_PROMPT.format(xs=xs, code=prog.code), repr(ys)))
    return out


def batch_pairs(cfg: PretrainConfig, step: int) -> list[tuple[str, str]]:
    """The (prompt, completion) pairs of ``step``'s batch, rebuilt from its seed alone."""
    from closedloop.loop.config import RunConfig
    from closedloop.loop.domain import cold_start_pairs

    seed = step_seed(cfg, step)
    n_agg = round(cfg.batch_size * cfg.aggregate_share)
    n_chal = round(cfg.batch_size * cfg.challenger_share)
    n_rel = round(cfg.batch_size * cfg.relational_share)
    n_id = round(cfg.batch_size * cfg.identity_share)
    n_focus = round(cfg.batch_size * cfg.focus_share)
    n_grammar = cfg.batch_size - n_agg - n_rel - n_id - n_focus
    run = RunConfig.model_validate(
        {
            "seed": seed,
            "cold_start": {
                "corpus_size": n_grammar,
                "challenger_fraction": n_chal / max(n_grammar, 1),
                "max_depth": cfg.max_depth,
            },
        }
    )
    phrase = varied_instruction if cfg.instruction_variety else fixed_instruction
    pairs = cold_start_pairs(run, phrase)
    rng = random.Random(seed)
    drawn = (
        [
            (aggregate_task(seed * 1_000_003 + 500_000 + i), f"pretrain/{step}/{i}")
            for i in range(n_agg)
        ]
        + [
            (relational_task(seed * 1_000_003 + 700_000 + i), f"pretrain/{step}/r{i}")
            for i in range(n_rel)
        ]
        + [
            (identity_task(seed * 1_000_003 + 800_000 + i, GRAMMAR_INPUTS), f"pretrain/{step}/i{i}")
            for i in range(n_id)
        ]
        + [
            (focus_task(seed * 1_000_003 + 600_000 + i, cfg.focus), f"pretrain/{step}/f{i}")
            for i in range(n_focus)
        ]
    )
    for gt, task_id in drawn:
        if gt is None:
            continue
        inline = rng.random() < INLINE_SHARE
        task = grammar_task(gt, task_id, phrase(rng), 3, inline)
        pairs.append((solver_prompt(task), gt.program.code))
    return pairs + deduction_pairs(cfg, step, cfg.deduction_per_step)


def tokenizer_corpus(cfg: PretrainConfig) -> list[str]:
    """Text the BPE is trained on: ``tokenizer_steps`` batches of a stream never trained on."""
    out = []
    for s in range(cfg.tokenizer_steps):
        out += [p + "\n" + c for p, c in batch_pairs(cfg, TOKENIZER_STREAM + s)]
    return out


# ---- the objective ------------------------------------------------------------------------


def lr_at(cfg: PretrainConfig, step: int, rewarm_from: int | None = None) -> float:
    """Learning rate of optimizer step ``step`` (0-based): warm-up, then cosine. With
    ``rewarm_from`` (the first step of a run started from a base's weights) the schedule's
    value is warmed up again over ``warmup_steps`` from that step."""
    if step < cfg.warmup_steps:
        return cfg.learning_rate * (step + 1) / cfg.warmup_steps
    span = max(cfg.steps - cfg.warmup_steps, 1)
    progress = min((step - cfg.warmup_steps) / span, 1.0)
    cosine = 0.5 * (1 + math.cos(math.pi * progress))
    lr = cfg.learning_rate * (cfg.min_lr_ratio + (1 - cfg.min_lr_ratio) * cosine)
    if rewarm_from is not None and cfg.warmup_steps:
        lr *= min(1.0, (step - rewarm_from + 1) / cfg.warmup_steps)
    return lr


def init_point(cfg: PretrainConfig) -> tuple[int, list[dict[str, float]], int]:
    """Where a run with ``init_from`` starts: the base's last step, its curve and its number
    of blocks. Raises ValueError naming the directory when it is no base of this run's
    architecture (a base with fewer blocks is one: it is grown)."""
    base = Path(cfg.init_from or "")
    base_cfg = load_pretrain_config(base)
    base_arch = {**base_cfg.architecture(), "num_layers": cfg.num_layers}
    if base_cfg.num_layers > cfg.num_layers or base_arch != cfg.architecture():
        raise ValueError(
            f"--init-from {base}: built with {base_cfg.architecture()}, not "
            f"{cfg.architecture()}; give the options it was built with (its {CONFIG_FILE})"
        )
    try:
        with open(base / CURVE_FILE, newline="") as f:
            curve = [
                {k: float(v) if v else math.nan for k, v in r.items()} for r in csv.DictReader(f)
            ]
        for r in curve:
            r["step"] = int(r["step"])
    except (OSError, ValueError, KeyError) as e:
        raise ValueError(f"--init-from {base}: no readable {CURVE_FILE} ({e})") from None
    if not curve:
        raise ValueError(f"--init-from {base}: {CURVE_FILE} is empty")
    start = int(curve[-1]["step"])
    if start >= cfg.steps:
        raise ValueError(f"--init-from {base}: it ends at step {start}; --steps must be larger")
    return start, curve, base_cfg.num_layers


def encode_pairs(policy: Any, pairs: Sequence[tuple[str, str]]) -> list[tuple[list[int], int]]:
    """Each pair as (prompt + completion + EOS token ids, prompt length)."""
    out = []
    for prompt, completion in pairs:
        p = policy.encode_prompt(prompt)
        out.append((p + policy.encode_completion(completion, add_eos=True), len(p)))
    return out


def completion_loss(model: Any, rows: Sequence[tuple[list[int], int]], pad_id: int) -> Any:
    """Sum over ``rows`` (right-padded) of each row's mean completion-token NLL.

    Each example weighs the same, however long its completion: a proposal's ~85 tokens, half
    of them random input numbers the model cannot predict, would otherwise outweigh the ~5
    tokens of a solver program, whose one or two decisive tokens carry the reading signal.
    Only the hidden states that predict a completion token go through the LM head."""
    import torch
    import torch.nn.functional as F

    width = max(len(ids) for ids, _ in rows)
    ids = torch.full((len(rows), width), pad_id, dtype=torch.long)
    target = torch.zeros((len(rows), width), dtype=torch.bool)
    for i, (row, p_len) in enumerate(rows):
        ids[i, : len(row)] = torch.tensor(row, dtype=torch.long)
        target[i, p_len : len(row)] = True
    ids = ids.to(model.device)
    target = target[:, 1:].to(model.device)
    hidden = model.model(input_ids=ids, use_cache=False).last_hidden_state
    logits = model.lm_head(hidden[:, :-1][target]).float()
    nll = F.cross_entropy(logits, ids[:, 1:][target], reduction="none")
    row_of = torch.arange(len(rows), device=ids.device).unsqueeze(1).expand_as(target)[target]
    per_row = torch.zeros(len(rows), device=ids.device).index_add_(0, row_of, nll)
    return (per_row / target.sum(1).clamp(min=1)).sum()


# ---- the run ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Progress:
    """What a progress callback is told after each step (``probe`` is the latest, or None)."""

    step: int
    steps: int
    loss: float
    lr: float
    seconds: float
    probe: float | None


@dataclass
class PretrainResult:
    """Where a run ended and what it measured."""

    out_dir: Path
    steps: int
    seconds: float
    stop_reason: str
    curve: list[dict[str, float]] = field(default_factory=list)
    final_probe: Any = None  # closedloop.loop.probe.ProbeResult of the exported model
    final_probe_unseen: Any = None
    """The same probe with instructions no training data used (phrasing.HELDOUT_PHRASINGS)."""
    grown_from: int | None = None
    """The blocks of the ``init_from`` base when this run grew it (closedloop.train.grow)."""
    init_sha256: str | None = None
    """SHA-256 of the ``init_from`` base's weights as this run read them: the path alone does
    not say which base it was once a later build is written there (the shipped base's is)."""
    parameters: int = 0


def _build(cfg: PretrainConfig, work: Path) -> Any:
    from closedloop.policy.embedded import EmbeddedConfig, build_embedded_policy
    from closedloop.policy.hf import HFPolicy

    init = work / INIT_DIR
    if (init / "config.json").is_file():
        return HFPolicy.from_pretrained(init, device="cpu")  # float32, whatever was saved
    ecfg = EmbeddedConfig(
        vocab_size=cfg.vocab_size,
        hidden_size=cfg.hidden_size,
        intermediate_size=cfg.intermediate_size,
        num_layers=cfg.num_layers,
        num_heads=cfg.num_heads,
        seed=cfg.seed,
        integer_tokens=cfg.integer_tokens,
        value_embeddings=cfg.value_embeddings,
        list_positions=cfg.list_positions,
    )
    return build_embedded_policy(tokenizer_corpus(cfg), init, ecfg)


def pretrain(
    cfg: PretrainConfig,
    out_dir: str | Path,
    work_dir: str | Path,
    verifier: Any,
    resume: bool = False,
    on_progress: Callable[[Progress], None] | None = None,
) -> PretrainResult:
    """Train the base model (see the module docstring), export it to ``out_dir``, probe it.

    ``work_dir`` holds the fresh model (``init/``), the checkpoints and ``curve.csv``; with
    ``resume`` the latest checkpoint there is continued (its architecture must match ``cfg``).
    Raises ValueError when ``resume`` finds a checkpoint of another architecture."""
    import torch

    from closedloop.loop.probe import probe_tasks, run_probe
    from closedloop.train.checkpoint import latest_checkpoint, load_checkpoint, save_checkpoint

    work = Path(work_dir)
    work.mkdir(parents=True, exist_ok=True)
    ckpt_root = work / CHECKPOINTS_DIR
    latest = latest_checkpoint(ckpt_root) if resume else None
    # a resumed run keeps the start it recorded: the base directory may since hold its output
    fresh_init = latest is None and cfg.init_from
    rewarm_from, base_curve, base_layers = (
        init_point(cfg) if fresh_init else (None, [], cfg.num_layers)
    )
    grown_from = base_layers if base_layers < cfg.num_layers else None
    init_weights = Path(cfg.init_from or "") / WEIGHTS_FILE
    init_sha256 = sha256_of(init_weights) if fresh_init and init_weights.is_file() else None
    if fresh_init:  # the base given now, not one an earlier run copied
        # copied aside first: the base may be this work directory's own init/, which a
        # remove-then-copy deleted before reading it
        staged = work / f"{INIT_DIR}.new"
        shutil.rmtree(staged, ignore_errors=True)
        shutil.copytree(cfg.init_from, staged)
        replace_dir(staged, work / INIT_DIR)
        if grown_from is not None:
            from closedloop.train.grow import grow_layers

            grow_layers(work / INIT_DIR, cfg.num_layers)
    policy = _build(cfg, work)
    model = policy.model
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=cfg.learning_rate, weight_decay=cfg.weight_decay)
    start, curve, elapsed = 0, [], 0.0
    if rewarm_from is not None:
        start, curve, elapsed = rewarm_from, base_curve, float(base_curve[-1]["seconds"])
    if latest is not None:
        try:
            state = load_checkpoint(latest, policy)
        except Exception as e:  # noqa: BLE001 - a damaged file: torch and safetensors raise anything
            raise ValueError(
                f"checkpoint {latest} does not load ({type(e).__name__}: {str(e)[:200]}); "
                "remove it to resume from the one before"
            ) from None
        if state["architecture"] != cfg.architecture():
            raise ValueError(
                f"checkpoint {latest} was trained with {state['architecture']}, not "
                f"{cfg.architecture()}; resume with the same options or use another --work-dir"
            )
        opt.load_state_dict(state["optimizer"])
        start, curve, elapsed = state["step"], list(state["curve"]), state["seconds"]
        rewarm_from, grown_from = state.get("rewarm_from"), state.get("grown_from")
        init_sha256 = state.get("init_sha256")
    elif not resume and ckpt_root.exists():
        shutil.rmtree(ckpt_root)
    probe_set = (
        probe_tasks(verifier, cfg.primitives, cfg.probe_per, PROBE_SEED + 1)
        if cfg.probe_every
        else []
    )
    probes = [r["probe"] for r in curve if not math.isnan(r["probe"])]
    best, since_best = max(probes, default=0.0), 0
    t0 = time.monotonic() - elapsed
    stop_reason, losses = "step cap", []

    def checkpoint(at: int) -> None:
        state = {
            "architecture": cfg.architecture(),
            "optimizer": opt.state_dict(),
            "step": at,
            "curve": curve,
            "seconds": time.monotonic() - t0,
            "rewarm_from": rewarm_from,
            "grown_from": grown_from,
            "init_sha256": init_sha256,
        }
        save_checkpoint(ckpt_root, at, policy, state, keep_last=2)

    model.train()
    done = start
    for step in range(start, cfg.steps):
        lr = lr_at(cfg, step, rewarm_from)
        for group in opt.param_groups:
            group["lr"] = lr
        rows = sorted(encode_pairs(policy, batch_pairs(cfg, step)), key=lambda r: len(r[0]))
        size = math.ceil(len(rows) / cfg.micro_batches)
        opt.zero_grad(set_to_none=True)
        total = 0.0
        for chunk in range(0, len(rows), size):
            nll = completion_loss(model, rows[chunk : chunk + size], policy.pad_id)
            (nll / len(rows)).backward()
            total += float(nll.detach())
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        losses.append(total / len(rows))
        done = step + 1
        probe = math.nan
        if cfg.probe_every and done % cfg.probe_every == 0 and done < cfg.steps:
            model.eval()
            measured = run_probe(policy, probe_set, verifier)
            model.train()
            probe = measured.pass_at_1
            with open(work / PROBES_FILE, "a") as f:
                row = {"step": done, "seconds": round(time.monotonic() - t0, 1)}
                f.write(json.dumps({**row, **dataclasses.asdict(measured)}) + "\n")
        stop = _should_stop(cfg, probe, best, since_best, time.monotonic() - t0)
        if not math.isnan(probe):
            since_best = 0 if probe >= best + cfg.min_gain else since_best + 1
            best = max(best, probe)
        period = cfg.probe_every or cfg.checkpoint_every or cfg.steps
        if done % period == 0 or stop or done == cfg.steps:
            recent = losses[-period:]
            curve.append(
                {
                    "step": done,
                    "seconds": round(time.monotonic() - t0, 1),
                    "loss": round(sum(recent) / len(recent), 5),
                    "lr": lr,
                    "probe": probe,
                }
            )
            _write_curve(work / CURVE_FILE, curve)
        if on_progress is not None:
            shown = [r["probe"] for r in curve if not math.isnan(r["probe"])]
            seconds = time.monotonic() - t0
            on_progress(Progress(done, cfg.steps, losses[-1], lr, seconds, (shown or [None])[-1]))
        if cfg.checkpoint_every and done % cfg.checkpoint_every == 0 or stop or done == cfg.steps:
            checkpoint(done)
        if stop:
            stop_reason = stop
            break
    model.eval()
    result = PretrainResult(
        Path(out_dir),
        done,
        time.monotonic() - t0,
        stop_reason,
        curve,
        grown_from=grown_from,
        init_sha256=init_sha256,
    )
    export(policy, cfg, result, verifier)
    return result


def _should_stop(
    cfg: PretrainConfig, probe: float, best: float, since_best: int, seconds: float
) -> str:
    """Why to stop after this step ('' to go on)."""
    if not math.isnan(probe) and probe >= cfg.stop_at:
        return f"probe {probe:.3f} reached {cfg.stop_at}"
    if not math.isnan(probe) and cfg.patience and probe < best + cfg.min_gain:
        if since_best + 1 >= cfg.patience:
            return f"probe plateaued ({cfg.patience} probes without a gain of {cfg.min_gain})"
    if cfg.max_minutes is not None and seconds >= cfg.max_minutes * 60:
        return f"time cap of {cfg.max_minutes} minutes"
    return ""


def _write_curve(path: Path, curve: Sequence[dict[str, float]]) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=CURVE_FIELDS)
        w.writeheader()
        w.writerows(curve)
    os.replace(tmp, path)


# ---- export -------------------------------------------------------------------------------


def export(policy: Any, cfg: PretrainConfig, result: PretrainResult, verifier: Any) -> None:
    """Write the model (bf16 safetensors), tokenizer, curve, probe and model card to
    ``result.out_dir``, probing the model as it was saved (bf16 weights, loaded back).

    The directory is written whole or not at all: everything goes to a staging directory beside
    it, which then takes its place (:func:`~closedloop.train.directories.replace_dir`). The
    default ``out_dir`` is the base the package ships, so an export stopped half-way (Ctrl-C
    during the probe, a full disk) must not leave new weights under the old card, or none. A symlinked ``out_dir`` has
    its target replaced; one that cannot be swapped (a mount point, a parent this process may
    not write) has its files replaced one by one instead, each whole."""
    given = result.out_dir
    final = Path(os.path.realpath(given))
    final.parent.mkdir(parents=True, exist_ok=True)
    swap = not os.path.ismount(final) and os.access(final.parent, os.W_OK | os.X_OK)
    if not swap:
        final.mkdir(exist_ok=True)
    mode = _dir_mode(final)
    staged = Path(
        tempfile.mkdtemp(prefix=f".{final.name}.new-", dir=final.parent if swap else final)
    )
    staged.chmod(mode)  # mkdtemp's 0700 would become the directory's mode
    result.out_dir = staged
    try:
        _write_export(policy, cfg, result, verifier, staged)
        if swap:
            _keep_unexported(final, staged)
            try:
                replace_dir(staged, final)
                return
            except OSError:  # final is as it was (replace_dir undoes a half swap): go file by file
                pass
        _replace_files(staged, final)
    finally:
        result.out_dir = given
        shutil.rmtree(staged, ignore_errors=True)


def _dir_mode(path: Path) -> int:
    """The mode an exported directory gets: the one it had, else what the umask allows."""
    try:
        return path.stat().st_mode & 0o7777
    except OSError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o777 & ~umask


def _replace_files(staged: Path, final: Path) -> None:
    """Put each file of ``staged`` into ``final`` whole (copied beside its target, then
    renamed over it): for a directory that cannot be renamed itself."""
    for src in sorted(staged.iterdir()):
        if src.is_dir():
            continue  # an export writes files only
        tmp = final / f".{src.name}.tmp-{os.getpid()}"
        shutil.copy2(src, tmp)
        os.replace(tmp, final / src.name)


def _keep_unexported(final: Path, staged: Path) -> None:
    """Copy into ``staged`` what ``final`` holds that an export does not write (the package's
    ``__init__.py``, a user's notes), so the swap replaces only the model."""
    if not final.is_dir():
        return
    for entry in final.iterdir():
        target = staged / entry.name
        if target.exists() or target.is_symlink():
            continue
        if entry.is_dir() and not entry.is_symlink():
            shutil.copytree(entry, target, symlinks=True)
        else:
            shutil.copy2(entry, target, follow_symlinks=False)


def _write_export(
    policy: Any, cfg: PretrainConfig, result: PretrainResult, verifier: Any, out: Path
) -> None:
    import copy

    import torch

    from closedloop.loop.probe import probe_tasks, run_probe
    from closedloop.policy.embedded import parameter_count
    from closedloop.policy.hf import HFPolicy

    copy.deepcopy(policy.model).to(torch.bfloat16).save_pretrained(str(out))
    policy.tokenizer.save_pretrained(str(out))
    _write_curve(out / CURVE_FILE, result.curve)
    result.parameters = parameter_count(policy)
    if cfg.final_probe_per:
        shipped = HFPolicy.from_pretrained(out, device="cpu")
        tasks = probe_tasks(verifier, cfg.primitives, cfg.final_probe_per, PROBE_SEED)
        result.final_probe = run_probe(shipped, tasks, verifier)
        unseen = probe_tasks(
            verifier, cfg.primitives, cfg.final_probe_per, PROBE_SEED, HELDOUT_PHRASINGS
        )
        result.final_probe_unseen = run_probe(shipped, unseen, verifier)
        measured = dataclasses.asdict(result.final_probe)
        measured["unseen_phrasings"] = dataclasses.asdict(result.final_probe_unseen)
        (out / PROBE_FILE).write_text(json.dumps(measured, indent=2) + "\n")
    write_pretrain_config(cfg, out)
    (out / CARD_FILE).write_text(model_card(cfg, result))


def sha256_of(path: Path) -> str:
    """Hex SHA-256 of a file."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def machine() -> str:
    """The machine in words: CPU, cores, torch threads, torch version."""
    import torch

    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(
                (ln.split(":", 1)[1].strip() for ln in f if ln.startswith("model name")), cpu
            )
    except OSError:
        pass
    return (
        f"{cpu}, {os.cpu_count()} cores, torch {torch.__version__} with "
        f"{torch.get_num_threads()} threads, Python {platform.python_version()}"
    )


def model_card(cfg: PretrainConfig, result: PretrainResult) -> str:
    """The model card: how the weights were made and what they measured."""
    weights = result.out_dir / WEIGHTS_FILE
    size = weights.stat().st_size if weights.is_file() else 0
    probe = result.final_probe
    lines = [
        "# closedloop base model",
        "",
        "The embedded Llama-style model pretrained by `closedloop pretrain` "
        "(closedloop.train.pretrain) to read list-function examples.",
        "",
        "## Data",
        "- Fresh grammar tasks every step (closedloop.loop.grammar), grammar depth "
        + (
            f"{cfg.max_depth} (single primitives; an aggregate follows the step in 30% of them), "
            if cfg.max_depth == 1
            else f"up to {cfg.max_depth} (1 to {cfg.max_depth} steps, each count half as likely "
            "as the one before; an aggregate follows in 30% of them), "
        )
        + f"{cfg.aggregate_share:.0%} aggregates alone, {cfg.challenger_share:.0%} challenger "
        "proposals; prompts rendered as the loop renders them"
        + (
            f"; plus {cfg.deduction_per_step} deduction examples per step (program + input -> "
            "output)."
            if cfg.deduction_per_step
            else "."
        )
        + (
            (
                f" {cfg.relational_share:.0%} of each batch drawn from relational rules alone "
                "(x + c, thresholds, reverse, slices, picks by position: rules only an "
                "input/output comparison tells)."
            )
            if cfg.relational_share
            else ""
        )
        + (
            f" {cfg.identity_share:.0%} of each batch the identity (outputs equal to the inputs, "
            "`return xs`), which the grammar's draws drop."
            if cfg.identity_share
            else ""
        )
        + (
            f" {cfg.focus_share:.0%} of each batch single rules of the kinds "
            f"{', '.join(cfg.focus)} alone, each kind equally often."
            if cfg.focus_share
            else ""
        )
        + (
            " Instructions drawn from closedloop.loop.phrasing's generator (composed sentences, "
            "none, remarks), not only its six fixed phrasings."
            if cfg.instruction_variety
            else " Instructions: the six fixed phrasings."
        ),
        f"- {result.steps} steps x {cfg.batch_size} examples = "
        f"{result.steps * cfg.batch_size:,} examples; no task repeated.",
        "",
        "## Model and training",
        f"- Width {cfg.hidden_size}, {cfg.num_layers} layers, {cfg.num_heads} heads, MLP "
        f"{cfg.intermediate_size}; BPE {cfg.vocab_size} + integer tokens "
        f"({'one token per integer 0..999' if cfg.integer_tokens else 'plain byte-level BPE'}"
        f"{', started from sinusoidal value features' if cfg.value_embeddings else ''}"
        f"{', list positions from both ends' if cfg.list_positions else ''}); "
        f"{result.parameters:,} parameters.",
        f"- AdamW lr {cfg.learning_rate}, warm-up {cfg.warmup_steps}, cosine to "
        f"{cfg.min_lr_ratio} of the peak over {cfg.steps} steps, weight decay "
        f"{cfg.weight_decay}, batch {cfg.batch_size}; seed {cfg.seed}.",
    ]
    if cfg.init_from:
        lines.append(
            f"- Started from the weights of `{cfg.init_from}`"
            + (f" (SHA-256 `{result.init_sha256}`)" if result.init_sha256 else "")
            + " (its steps, wall time and curve "
            "are counted here), AdamW fresh and the learning rate warmed up again over "
            f"{cfg.warmup_steps} steps from there; the data options above hold from that step."
        )
        if result.grown_from is not None:
            lines.append(
                f"- Grown from its {result.grown_from} blocks to {cfg.num_layers} "
                "(closedloop.train.grow: each new block a copy of the one before it with its "
                "output projections zeroed, so the grown model first computed what the base did)."
            )
    lines += [
        f"- Stopped: {result.stop_reason}; wall time {result.seconds / 60:.1f} min on {machine()}.",
        f"- Weights: `{WEIGHTS_FILE}` (bf16), {size / 1e6:.1f} MB, SHA-256 "
        f"`{sha256_of(weights) if size else 'n/a'}`.",
        "",
        "## Reading probe (closedloop.loop.probe, greedy, outputs from the sandbox)",
    ]
    if probe is None:
        lines.append("- Not measured.")
    else:
        lines.append(
            f"- Overall {probe.pass_at_1:.3f} on {len(probe.per_primitive)} primitives x "
            f"{probe.tasks_per_primitive} tasks; {probe.distinct_programs} distinct programs."
        )
        lines += ["", "| primitive | pass@1 |", "|---|---|"]
        lines += [f"| {k} | {v:.2f} |" for k, v in probe.per_primitive.items()]
    unseen = result.final_probe_unseen
    if unseen is not None:
        lines += [
            "",
            f"With instructions no training data used (closedloop.loop.phrasing."
            f"HELDOUT_PHRASINGS): {unseen.pass_at_1:.3f} ({unseen.distinct_programs} distinct "
            "programs).",
        ]
    lines += [
        "",
        "Held-out (reasoning-gym list_functions): not measured here.",
        "",
        "## Curve (probe on "
        f"{cfg.probe_per} tasks per primitive, seed {PROBE_SEED + 1}; full data in {CURVE_FILE})",
        "",
        "| step | minutes | loss | probe |",
        "|---|---|---|---|",
    ]
    for r in result.curve:
        shown = "" if math.isnan(r["probe"]) else f"{r['probe']:.3f}"
        lines.append(f"| {r['step']} | {r['seconds'] / 60:.1f} | {r['loss']:.4f} | {shown} |")
    return "\n".join(lines) + "\n"


def write_pretrain_config(cfg: PretrainConfig, out_dir: Path) -> Path:
    """Write ``cfg`` as ``pretrain_config.json`` beside the model it built."""
    path = Path(out_dir) / CONFIG_FILE
    data = dataclasses.asdict(cfg)
    data["primitives"] = list(cfg.primitives)
    path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    return path


def load_pretrain_config(base_dir: Path) -> PretrainConfig:
    """The :class:`PretrainConfig` a base directory was built with (``pretrain_config.json``);
    raises ValueError naming the file when it is missing or unreadable."""
    path = Path(base_dir) / CONFIG_FILE
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        data["primitives"] = tuple(data.get("primitives", PRIMITIVES))
        data["focus"] = tuple(data.get("focus", ()))
        return PretrainConfig(**data)
    except (OSError, ValueError, TypeError, AttributeError) as e:  # a list, not an object
        raise ValueError(f"{path}: no readable pretraining config ({e})") from None
