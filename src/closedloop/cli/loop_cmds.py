"""``closedloop run``, ``eval``, ``gate`` and ``report``: parse, call the library, print.

Wired into the main app by ``register(app)``; heavy imports happen inside the commands, after
every argument is checked (``closedloop.cli.checks``): bad input is one line and exit code 2
before a model loads or a run directory is created.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from closedloop.cli import checks
from closedloop.cli.checks import fail as _fail
from closedloop.distributed.factory import RAY_OPTION_HELP

if TYPE_CHECKING:
    from closedloop.verify import VerificationBackend

# options shared by eval and gate
MAX_SAMPLES = 1000  # attempts are built up front: 10**8 once ran out of memory (and gate's
# crash exited 1, its "reject")
MAX_TURNS = 8  # the loop's own solver.turns cap: every turn lengthens the context
SamplesOpt = Annotated[
    int, typer.Option("--samples", help=f"Attempts per task (1: greedy; at most {MAX_SAMPLES}).")
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON object.")]
MaxTokensOpt = Annotated[
    int,
    typer.Option(
        help="Token budget per turn. A run evaluates with its config's eval.max_new_tokens "
        "(64 in the presets on the embedded model): give that to score its policies alike."
    ),
]
TemperatureOpt = Annotated[float, typer.Option(help="Sampling temperature when --samples > 1.")]
TimeoutOpt = Annotated[float, typer.Option(help="Wall-clock seconds per verification.")]
RayOpt = Annotated[str, typer.Option("--ray", metavar="ADDRESS", help=RAY_OPTION_HELP)]


def run(
    config: Annotated[
        Path | None,
        typer.Argument(help="Run config (TOML). None: --preset, or the embedded preset."),
    ] = None,
    preset: Annotated[
        str | None,
        typer.Option(
            "--preset", help="A named config instead of CONFIG (closedloop presets lists them)."
        ),
    ] = None,
    run_dir: Annotated[
        Path | None,
        typer.Option("--run-dir", help="Where the new run goes (must not exist or be empty)."),
    ] = None,
    resume: Annotated[
        Path | None, typer.Option("--resume", help="Resume the run in this directory.")
    ] = None,
    model: Annotated[
        Path | None,
        typer.Option("--model", help="A Hugging Face model directory (sets model.kind = hf)."),
    ] = None,
    iterations: Annotated[
        int | None,
        typer.Option(
            help="Override the number of self-play iterations (with --resume: run on to N, "
            "extending the run; the final policy, control, gate and report are made again)."
        ),
    ] = None,
    seed: Annotated[
        int | None, typer.Option(help="Override the run's seed (the config's seed).")
    ] = None,
    threads: Annotated[
        int | None,
        typer.Option(
            help="Torch threads (default: the config's threads, else one per core; 1 is "
            "fastest for small models on a shared machine). On --resume: for this process only."
        ),
    ] = None,
    ray: Annotated[
        str | None,
        typer.Option(
            "--ray",
            metavar="ADDRESS",
            help=RAY_OPTION_HELP
            + " Sets the config's distributed.ray_address (on --resume: for this process only).",
        ),
    ] = None,
    generation: Annotated[
        str | None,
        typer.Option(
            "--generation",
            metavar="hf|hf-engine|vllm",
            help="Where samples are drawn: sets model.generation (on --resume: for this "
            "process only). 'hf' runs a vLLM config without vLLM (the CPU stand-in).",
        ),
    ] = None,
) -> None:
    """Run the closed loop: generate -> attempt -> verify -> train, then the held-out table."""
    from rich.console import Console

    from closedloop.loop.config import ConfigError, Generation, load_config
    from closedloop.loop.presets import PRESETS, RENAMED, preset_config

    checks.at_least("--threads", threads, 1)
    checks.seed("--seed", seed)
    if generation is not None and generation not in {g.value for g in Generation}:
        _fail(f"--generation {generation}: must be one of {', '.join(g.value for g in Generation)}")
    if resume is not None:
        if config is not None or run_dir is not None or preset is not None or seed is not None:
            _fail(
                "--resume takes its config from the run directory; "
                "give no CONFIG, --preset, --run-dir or --seed"
            )
        if model is not None:  # it was once silently ignored
            _fail(
                "--resume continues the run with the model its config.toml names; --model "
                "cannot change it (start a new run)"
            )
        checks.at_least("--iterations", iterations, 0)
        checks.utf8_path("--resume", resume)
        _check_resumable(resume)
    else:
        if run_dir is not None:
            checks.utf8_path("--run-dir", run_dir)
        if config is not None and preset is not None:
            _fail("give CONFIG or --preset, not both")
        if preset in RENAMED:
            _fail(f"--preset {preset}: no such preset any more: {RENAMED[preset]}")
        if preset is not None and preset not in PRESETS:
            _fail(f"--preset {preset}: no such preset; there are: {', '.join(PRESETS)}")
        if config is not None and not config.exists() and str(config) in PRESETS:
            _fail(f"CONFIG {config}: no such file; for the preset, run --preset {config}")
        if config is not None:
            checks.toml_file("CONFIG", config)
        if model is not None:
            checks.utf8_path("--model", model)
            checks.model_dir("--model", model)
        checks.at_least("--iterations", iterations, 0)
        overrides: dict[str, object] = {}
        if model is not None:
            overrides.update({"model.kind": "hf", "model.path": str(model)})
        if iterations is not None:
            overrides["iterations"] = iterations
        if seed is not None:
            overrides["seed"] = seed
        if ray is not None:
            overrides["distributed.ray_address"] = ray
        if threads is not None:
            overrides["threads"] = threads
        if generation is not None:
            overrides["model.generation"] = generation
        try:
            if preset is not None:
                cfg = preset_config(preset, overrides)
            else:
                cfg = load_config(config, overrides)
        except ConfigError as e:
            _fail(str(e))
        _check_run_inputs(cfg)

    # only now the heavy parts: every argument is known to be usable
    from closedloop.loop.runner import LoopRunner, RunDirError
    from closedloop.sandbox import SandboxUnavailable

    console = Console(stderr=True)
    target = resume or run_dir or Path("runs") / f"{cfg.name}-{datetime.now():%Y%m%d-%H%M%S}"
    try:
        if resume is not None:
            runner = LoopRunner.resume(resume, console)
            if ray is not None:
                runner.cfg.distributed.ray_address = ray
            if threads is not None:
                runner.cfg.threads = threads
            if generation is not None:
                runner.cfg.model.generation = Generation(generation)
            if iterations is not None:
                runner.extend_to(iterations)
        else:
            runner = LoopRunner.new(cfg, target, console)
        console.print(f"run directory: {runner.run_dir}", markup=False, highlight=False)
        result = runner.run()
    except (ConfigError, RunDirError) as e:
        _fail(str(e))
    except SandboxUnavailable as e:
        _fail(str(e), code=3)
    except (sqlite3.OperationalError, sqlite3.IntegrityError) as e:  # in use, a disk full...
        _fail(f"{target / 'run.sqlite'}: {e}")
    except sqlite3.DatabaseError as e:  # a store damaged past its header
        _fail(f"{target / 'run.sqlite'}: damaged SQLite database ({e}); start a new run")
    except KeyboardInterrupt:
        _fail("interrupted; resume with --resume RUN_DIR", code=130)
    typer.echo(f"{result.run_dir} finished in {result.seconds:.0f}s")


def _check_resumable(run_dir: Path) -> None:
    """The files a resume reads first: the config (text, TOML) and the store (SQLite)."""
    if not run_dir.is_dir():
        _fail(f"--resume {run_dir}: no such run directory")
    config = run_dir / "config.toml"
    if not config.is_file():
        _fail(f"--resume {run_dir}: not a run directory (no config.toml)")
    checks.toml_file("--resume", config)
    checks.sqlite_file("--resume", run_dir / "run.sqlite")


def _check_run_inputs(cfg: Any) -> None:
    """What a new run reads from outside its config: the model directory and the held-out
    files. Checked before the run directory is created, so a bad one leaves nothing behind."""
    from closedloop.loop.presets import MODEL_PLACEHOLDER

    if cfg.model.path == MODEL_PLACEHOLDER:
        _fail("model.path is not set: give the model directory with --model PATH")
    if cfg.model.path is not None and cfg.model.kind != "embedded":
        checks.utf8_path("model.path", Path(cfg.model.path))  # the run's config.toml holds it
        checks.model_dir("model.path", Path(cfg.model.path))
    for path in cfg.eval.heldout_files:
        checks.utf8_path("eval.heldout_files:", Path(path))
        checks.task_file("eval.heldout_files:", Path(path))


def eval_cmd(
    policy: Annotated[Path, typer.Option("--policy", help="A Hugging Face model directory.")],
    tasks: Annotated[
        Path,
        typer.Option(
            "--tasks",
            help="Task file (JSONL, the task format), or a run directory: its primary "
            "held-out set.",
        ),
    ],
    samples: SamplesOpt = 1,
    as_json: JsonOpt = False,
    turns: Annotated[
        int,
        typer.Option(
            help=f"Solver turns per attempt (public-test feedback between; at most {MAX_TURNS})."
        ),
    ] = 1,
    max_new_tokens: MaxTokensOpt = 128,
    temperature: TemperatureOpt = 0.8,
    timeout: TimeoutOpt = 5.0,
    ray: RayOpt = "",
) -> None:
    """Score a policy on a task file: pass@1 and unbiased pass@k, with the solver's prompt.

    k = 5, 10, 25, 100, those not above --samples."""
    checks.at_least("--samples", samples, 1, MAX_SAMPLES)
    checks.at_least("--turns", turns, 1, MAX_TURNS)
    _check_generation(max_new_tokens, temperature, timeout)
    task_list = _task_file(tasks)
    checks.model_dir("--policy", policy)

    from closedloop.loop.evaluate import evaluate

    pol = _load_policy("--policy", policy)
    with _verifier(timeout, ray) as v:
        res = evaluate(
            pol,
            task_list,
            v,
            samples=samples,
            turns=turns,
            max_new_tokens=max_new_tokens,
            temperature=temperature,
        )
    if as_json:
        typer.echo(json.dumps(res.to_json()))
    else:
        scores = "  ".join(f"pass@{k} {p:.3f}" for k, p in sorted(res.pass_at.items()))
        v = res.variety
        typer.echo(
            f"{res.n_tasks} tasks, {'greedy' if samples == 1 else f'{samples} samples'}: {scores}  "
            f"({v.distinct} distinct programs, the most common {v.top_share:.0%} of attempts)"
        )


def _verifier(timeout: float, ray_address: str) -> VerificationBackend:
    """The verifier of ``eval`` and ``gate`` (closedloop.distributed.make_verifier); one line
    and exit code 3 when it cannot start."""
    from closedloop.distributed import make_verifier
    from closedloop.sandbox import SandboxLimits, SandboxUnavailable

    try:
        return make_verifier(None, SandboxLimits(wall_s=timeout), ray_address)
    except SandboxUnavailable as e:
        _fail(str(e), code=3)


def _check_generation(max_new_tokens: int, temperature: float, timeout: float) -> None:
    checks.at_least("--max-new-tokens", max_new_tokens, 1)
    from closedloop.loop.config import MIN_TEMPERATURE  # logits / a subnormal T overflow

    checks.at_least("--temperature", temperature, MIN_TEMPERATURE)
    checks.seconds("--timeout", timeout)


# What transformers raises for a model directory it cannot load (damaged weights, a
# model_type it does not know, sizes that do not fit together): each becomes one line.
_LOAD_ERRORS = (OSError, ValueError, KeyError, TypeError, AttributeError, RuntimeError)


def _load_policy(option: str, path: Path) -> Any:
    from transformers.utils import logging as hf_logging

    from closedloop.policy.hf import HFPolicy

    hf_logging.disable_progress_bar()  # one "Loading weights" bar per policy says nothing
    try:
        return HFPolicy.from_pretrained(path)
    except _LOAD_ERRORS as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else ""
        _fail(f"{option} {path}: cannot load the model ({type(e).__name__}: {first})")


def _task_file(path: Path) -> list:
    """The tasks of a task file, or of a run directory: its primary held-out set as the run
    wrote it (hash-checked), so a later eval scores exactly the tasks the run did."""

    if path.is_dir():
        from closedloop.loop.heldout import HeldoutError, load

        try:
            primary = next(iter(load(path).values()))
        except HeldoutError as e:
            _fail(f"--tasks {path}: {e}")
        return list(primary.tasks)
    return checks.task_file("--tasks", path)


def gate_cmd(
    candidate: Annotated[
        Path, typer.Option("--candidate", help="The trained policy (a HF model directory).")
    ],
    baseline: Annotated[
        Path, typer.Option("--baseline", help="The policy it would replace (a HF model directory).")
    ],
    tasks: Annotated[
        Path,
        typer.Option(
            "--tasks", help="Held-out task file (JSONL), or a run directory: its primary set."
        ),
    ],
    alpha: Annotated[
        float, typer.Option(help="Promote only when the one-sided p-value is below this.")
    ] = 0.05,
    min_gain: Annotated[float, typer.Option(help="... and the pass@1 gain is above this.")] = 0.0,
    samples: SamplesOpt = 1,
    as_json: JsonOpt = False,
    max_new_tokens: MaxTokensOpt = 128,
    temperature: TemperatureOpt = 0.8,
    timeout: TimeoutOpt = 5.0,
    ray: RayOpt = "",
) -> None:
    """Promote a candidate policy over a baseline only on a significant held-out gain.

    It must win significantly more held-out tasks than it loses (paired one-sided sign test).
    Exit 0: promote; 1: reject; 2: bad input."""
    checks.at_least("--samples", samples, 1, MAX_SAMPLES)
    checks.fraction("--alpha", alpha, open_low=True, open_high=True)
    checks.fraction("--min-gain", min_gain, open_high=True)
    _check_generation(max_new_tokens, temperature, timeout)
    task_list = _task_file(tasks)
    checks.model_dir("--candidate", candidate)
    checks.model_dir("--baseline", baseline)

    from closedloop.gate import Decision, decide
    from closedloop.loop.evaluate import evaluate

    scores = {}
    with _verifier(timeout, ray) as v:
        for label, path in (("candidate", candidate), ("baseline", baseline)):
            res = evaluate(
                _load_policy(f"--{label}", path),
                task_list,
                v,
                samples=samples,
                max_new_tokens=max_new_tokens,
                temperature=temperature,
            )
            scores[label] = {t: c / samples for t, c in res.successes.items()}
    result = decide(scores["candidate"], scores["baseline"], alpha, min_gain)
    if as_json:
        out = {"candidate": str(candidate), "baseline": str(baseline), **result.to_json()}
        typer.echo(json.dumps(out))
    else:
        ties = result.n_tasks - result.wins - result.losses
        typer.echo(
            f"{result.n_tasks} tasks: candidate pass@1 {result.candidate_score:.3f}, baseline "
            f"{result.baseline_score:.3f}; candidate won {result.wins}, lost {result.losses}, "
            f"tied {ties}; one-sided sign test p = {result.p_value:.3g}"
        )
        typer.echo(f"{result.decision}: {result.reason}")
    if result.decision is not Decision.PROMOTE:
        raise typer.Exit(1)


def report_cmd(
    run_dir: Annotated[Path, typer.Argument(help="A run directory (finished or not).")],
    output: Annotated[
        Path | None,
        typer.Option("-o", "--output", help="Where to write (default: RUN_DIR/report.html)."),
    ] = None,
) -> None:
    """Write a run's HTML report: held-out table, gate, alarms, and plots over the iterations."""
    from closedloop.monitor.report import ReportError, is_html, write_report

    if not run_dir.is_dir():
        _fail(f"{run_dir}: no such run directory")
    if output is not None:
        checks.output_file("-o", output)
        if output.exists() and not is_html(output):  # -o run/run.sqlite replaced the store
            _fail(f"-o {output}: exists and is not an HTML report; give a new file name")

    def warn(msg: str) -> None:
        typer.echo(f"closedloop: warning: {msg}", err=True)

    try:  # the report checks every file it reads (closedloop.monitor.run_files)
        path = write_report(run_dir, output, warn)
    except ReportError as e:
        _fail(str(e))
    except OSError as e:
        _fail(f"{output or run_dir}: {e.strerror}")
    typer.echo(str(path))


def presets_cmd(
    show: Annotated[
        str | None,
        typer.Option(
            "--show",
            metavar="NAME",
            help="Print that preset's whole config as TOML, every key: a start for your own.",
        ),
    ] = None,
) -> None:
    """List the named configs `run --preset` takes: what each runs and how long it takes."""
    from closedloop.loop.config import dump_config
    from closedloop.loop.presets import CATALOGUE, UnknownPresetError, preset_config

    if show is not None:
        try:
            cfg = preset_config(show)
        except UnknownPresetError as e:
            checks.fail(f"--show: {e}")
        typer.echo(
            f"# closedloop run CONFIG: the {show!r} preset, every key (closedloop.loop.config)"
        )
        typer.echo(dump_config(cfg), nl=False)
        return
    width = max(len(p.name) for p in CATALOGUE)
    for p in CATALOGUE:
        typer.echo(f"{p.name:<{width}}  {p.runs} ({p.time})")


def register(app: typer.Typer) -> None:
    """Add ``run``, ``presets``, ``eval``, ``gate`` and ``report`` to ``app``."""
    app.command("run")(run)
    app.command("presets")(presets_cmd)
    app.command("eval")(eval_cmd)
    app.command("gate")(gate_cmd)
    app.command("report")(report_cmd)
