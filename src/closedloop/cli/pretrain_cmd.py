"""``closedloop pretrain``: parse, call :func:`closedloop.train.pretrain.pretrain`, show
progress. Wired into the main app by ``register(app)``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from closedloop.cli import checks
from closedloop.cli.checks import fail as _fail


def pretrain(
    out: Annotated[
        Path | None,
        typer.Option(help="Where the model goes (default: the package's policy/base_model/)."),
    ] = None,
    work_dir: Annotated[
        Path, typer.Option(help="Checkpoints, the fresh model and curve.csv.")
    ] = Path("pretrain-work"),
    resume: Annotated[
        bool, typer.Option(help="Continue from the latest checkpoint in --work-dir.")
    ] = False,
    seed: Annotated[int, typer.Option(help="Seed of the weights and every batch.")] = 0,
    steps: Annotated[
        int, typer.Option(help="Most optimizer steps (the cosine spans them).")
    ] = 3400,
    batch_size: Annotated[int, typer.Option(help="Fresh examples per step.")] = 64,
    lr: Annotated[float, typer.Option(help="Peak learning rate.")] = 2e-3,
    warmup: Annotated[int, typer.Option(help="Warm-up steps.")] = 100,
    width: Annotated[int, typer.Option(help="Width of the residual stream.")] = 192,
    mlp: Annotated[int, typer.Option(help="Width of each MLP's hidden layer.")] = 512,
    layers: Annotated[int, typer.Option(help="Transformer blocks.")] = 4,
    heads: Annotated[int, typer.Option(help="Attention heads.")] = 4,
    vocab_size: Annotated[int, typer.Option(help="BPE vocabulary (integers on top).")] = 2048,
    integer_tokens: Annotated[
        bool, typer.Option(help="One token per integer 0..999 (off: plain byte-level BPE).")
    ] = True,
    value_embeddings: Annotated[
        bool, typer.Option(help="Integer tokens start from features of their value.")
    ] = False,
    list_positions: Annotated[
        bool, typer.Option(help="Integers in prompt lists get their index in the list.")
    ] = False,
    deduction_per_step: Annotated[
        int, typer.Option(help="Deduction examples (program + input -> output) per step.")
    ] = 0,
    relational_share: Annotated[
        float,
        typer.Option(
            help="Share of each batch drawn from rules only an input/output comparison tells "
            "(x + c, thresholds, reverse, slices, picks)."
        ),
    ] = 0.0,
    identity_share: Annotated[
        float,
        typer.Option(help="Share of each batch that is the identity (`return xs`)."),
    ] = 0.0,
    focus: Annotated[
        str | None,
        typer.Option(
            help="Comma-separated rule kinds that --focus-share draws from (add, sub, mul, even, "
            "odd, gt, lt, slice, pick)."
        ),
    ] = None,
    focus_share: Annotated[
        float,
        typer.Option(help="Share of each batch drawn from the --focus kinds alone."),
    ] = 0.0,
    instruction_variety: Annotated[
        bool,
        typer.Option(help="Varied instruction sentences (off: the six fixed phrasings)."),
    ] = False,
    max_depth: Annotated[int, typer.Option(help="Grammar steps per program.")] = 1,
    probe_every: Annotated[int, typer.Option(help="Steps between probes (0: none).")] = 100,
    probe_per: Annotated[int, typer.Option(help="Probe tasks per primitive in training.")] = 6,
    final_probe_per: Annotated[
        int, typer.Option(help="Probe tasks per primitive of the exported model (0: none).")
    ] = 25,
    primitives: Annotated[
        str | None, typer.Option(help="Comma-separated probe primitives (default: all).")
    ] = None,
    stop_at: Annotated[float, typer.Option(help="Stop once a probe reaches this.")] = 0.98,
    patience: Annotated[
        int, typer.Option(help="Stop after this many probes without a gain (0: never).")
    ] = 0,
    max_minutes: Annotated[
        float | None,
        typer.Option(help="Wall-time cap (with --init-from, the base's build time counts)."),
    ] = None,
    init_from: Annotated[
        Path | None,
        typer.Option(
            help="Start from this base's weights (e.g. the shipped base), at the step it ended "
            "on; --steps counts from its step 0. Give the options it was built with; a larger "
            "--layers grows it (new blocks start as no-ops: closedloop.train.grow)."
        ),
    ] = None,
    checkpoint_every: Annotated[int, typer.Option(help="Steps between checkpoints.")] = 100,
    workers: Annotated[int, typer.Option(help="Sandbox slots for the probe.")] = 2,
    threads: Annotated[
        int, typer.Option(help="Torch threads (1 is fastest on a shared 2-core machine).")
    ] = 1,
) -> None:
    """Pretrain the base model on fresh grammar tasks until the reading probe plateaus."""
    # what PretrainConfig does not refuse (or refuses with a ZeroDivisionError): one line each,
    # before torch loads
    from closedloop.train.grpo_config import MAX_LEARNING_RATE  # pydantic only, no torch

    checks.seed("--seed", seed)
    checks.positive("--lr", lr)
    checks.at_least("--lr", lr, 0, MAX_LEARNING_RATE)  # 1e30 trained every weight to NaN
    # a step of 1e8 examples never ended; 4,096 is 64 times the default
    checks.at_least("--batch-size", batch_size, 1, MAX_BATCH)
    checks.at_least("--deduction-per-step", deduction_per_step, 0, MAX_BATCH)
    for option, value in (("--width", width), ("--mlp", mlp), ("--heads", heads)):
        checks.at_least(option, value, 1)
    checks.at_least("--vocab-size", vocab_size, 1)
    checks.at_least("--warmup", warmup, 0)
    checks.at_least("--patience", patience, 0)
    checks.finite("--stop-at", stop_at)
    checks.positive("--max-minutes", max_minutes)
    checks.workers("--workers", workers)
    checks.at_least("--threads", threads, 1, checks.MAX_SLOTS)
    _check_paths(out, work_dir, resume, init_from)

    from closedloop.loop.probe import PRIMITIVES
    from closedloop.policy.base_model import base_model_dir
    from closedloop.train.pretrain import PretrainConfig

    names = tuple(primitives.split(",")) if primitives else tuple(PRIMITIVES)
    try:
        cfg = PretrainConfig(
            seed=seed,
            steps=steps,
            batch_size=batch_size,
            learning_rate=lr,
            warmup_steps=warmup,
            hidden_size=width,
            intermediate_size=mlp,
            num_layers=layers,
            num_heads=heads,
            vocab_size=vocab_size,
            integer_tokens=integer_tokens,
            value_embeddings=value_embeddings,
            list_positions=list_positions,
            deduction_per_step=deduction_per_step,
            relational_share=relational_share,
            identity_share=identity_share,
            focus=tuple(k.strip() for k in focus.split(",") if k.strip()) if focus else (),
            focus_share=focus_share,
            instruction_variety=instruction_variety,
            max_depth=max_depth,
            probe_every=probe_every,
            probe_per=probe_per,
            final_probe_per=final_probe_per,
            primitives=names,
            stop_at=stop_at,
            patience=patience,
            max_minutes=max_minutes,
            checkpoint_every=checkpoint_every,
            init_from=str(init_from.resolve()) if init_from else None,
        )
    except ValueError as e:
        _fail(str(e))
    if probe_every < 0 or probe_per < 1 or final_probe_per < 0 or checkpoint_every < 0:
        _fail(
            "--probe-every, --final-probe-per and --checkpoint-every must be >= 0, --probe-per >= 1"
        )
    import torch

    # On two cores shared with other jobs, two threads spin-wait on each other: a step of the
    # 1 M-parameter model took 1.5-4 s with 2 threads and 0.65 s with 1 (measured 2026-11-30).
    torch.set_num_threads(threads)
    _run(cfg, out or base_model_dir(), work_dir, resume, workers)


MAX_BATCH = 4096
"""Most examples a step takes (64 times the default)."""


def _check_paths(out: Path | None, work_dir: Path, resume: bool, init_from: Path | None) -> None:
    """Refuse, before anything is made or removed, paths that would fail after training or
    lose an earlier build: a build started again in a work directory without ``--resume``
    removed its checkpoints before its first step."""
    from closedloop.train.checkpoint import latest_checkpoint
    from closedloop.train.pretrain import CHECKPOINTS_DIR

    if work_dir.exists() and not work_dir.is_dir():
        _fail(f"--work-dir {work_dir}: is a file, not a directory")
    if out is not None and out.exists() and not out.is_dir():
        _fail(f"--out {out}: is a file, not a directory")
    latest = latest_checkpoint(work_dir / CHECKPOINTS_DIR) if work_dir.is_dir() else None
    if latest is not None and not resume:
        _fail(
            f"--work-dir {work_dir}: holds checkpoints of an earlier build (latest {latest.name}); "
            "continue it with --resume, or give another --work-dir (nothing was changed)"
        )
    if init_from is not None:
        if not (init_from / "pretrain_config.json").is_file():
            _fail(f"--init-from {init_from}: not a base directory (no pretrain_config.json)")
        checks.json_object_file("--init-from", init_from / "pretrain_config.json")
        checks.model_dir("--init-from", init_from)  # without weights it trained from random


def _run(cfg, out: Path, work_dir: Path, resume: bool, workers: int) -> None:  # noqa: ANN001
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
    from transformers.utils import logging as hf_logging

    from closedloop.sandbox import SandboxUnavailable
    from closedloop.train.checkpoint import latest_checkpoint
    from closedloop.train.pretrain import CHECKPOINTS_DIR
    from closedloop.train.pretrain import Progress as Step
    from closedloop.train.pretrain import pretrain as run_pretrain
    from closedloop.verify import Verifier

    hf_logging.disable_progress_bar()
    bar = Progress(
        TextColumn("pretrain"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TextColumn("loss {task.fields[loss]}  probe {task.fields[probe]}"),
        TimeElapsedColumn(),
    )
    job = bar.add_task("pretrain", total=cfg.steps, loss="-", probe="-")
    log_every = max(cfg.probe_every // 5, 10)

    def show(p: Step) -> None:
        probe = "-" if p.probe is None else f"{p.probe:.3f}"
        bar.update(job, completed=p.step, loss=f"{p.loss:.4f}", probe=probe)
        if not bar.console.is_terminal and p.step % log_every == 0:
            line = f"step {p.step} {p.seconds:.0f}s loss {p.loss:.4f} lr {p.lr:.2e} probe {probe}"
            print(line, flush=True)

    if resume and latest_checkpoint(Path(work_dir) / CHECKPOINTS_DIR) is None:
        typer.echo(  # --resume in a script that always passes it: say which it was
            f"closedloop pretrain: no checkpoint to resume in {work_dir}; starting at step 0",
            err=True,
        )
    try:
        verifier = Verifier(workers=workers)
    except SandboxUnavailable as e:
        _fail(str(e), code=3)
    try:
        with verifier, bar:
            result = run_pretrain(cfg, out, work_dir, verifier, resume=resume, on_progress=show)
    except ValueError as e:
        _fail(str(e))
    except KeyboardInterrupt:
        _fail(f"interrupted; resume with --resume --work-dir {work_dir}", code=130)
    probe = result.final_probe
    typer.echo(
        f"closedloop pretrain: {result.steps} steps in {result.seconds / 60:.1f} min "
        f"({result.stop_reason}); {result.parameters:,} parameters; wrote {result.out_dir}"
    )
    if probe is not None:
        typer.echo(f"closedloop pretrain: {probe.summary()}")
    if result.final_probe_unseen is not None:
        typer.echo(
            "closedloop pretrain: with unseen instruction phrasings, "
            f"{result.final_probe_unseen.summary()}"
        )


def register(app: typer.Typer) -> None:
    """Add ``pretrain`` to ``app``."""
    app.command("pretrain")(pretrain)
