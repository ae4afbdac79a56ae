"""``closedloop pretrain`` in miniature: it rebuilds in seconds, exports a loadable model with a
card, resumes to the same weights, draws the same batch from the same seed, and grows a
shallower base without changing what it computes."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from closedloop.train.grow import grow_layers, growth_plan
from closedloop.train.pretrain import (
    CARD_FILE,
    WEIGHTS_FILE,
    PretrainConfig,
    batch_pairs,
    lr_at,
    pretrain,
    sha256_of,
)

TINY = {
    "steps": 4,
    "batch_size": 4,
    "micro_batches": 2,
    "hidden_size": 32,
    "intermediate_size": 64,
    "num_layers": 1,
    "num_heads": 2,
    "vocab_size": 300,
    "tokenizer_steps": 2,
    "warmup_steps": 2,
    "probe_every": 0,
    "final_probe_per": 0,
    "checkpoint_every": 2,
}


class Interrupted(Exception):
    pass


def _weights(path: Path) -> dict:
    from safetensors.torch import load_file

    return load_file(str(path / "model.safetensors"))


def test_tiny_pretraining_exports_a_loadable_model_with_a_card(tmp_path, verifier) -> None:
    from closedloop.policy.hf import HFPolicy

    cfg = PretrainConfig(**{**TINY, "final_probe_per": 1, "primitives": ("reverse", "len")})
    result = pretrain(cfg, tmp_path / "out", tmp_path / "work", verifier)
    policy = HFPolicy.from_pretrained(tmp_path / "out", device="cpu")
    card = (tmp_path / "out" / CARD_FILE).read_text()
    assert result.steps == 4 and policy.model.config.num_hidden_layers == 1
    assert "SHA-256" in card and "| reverse |" in card
    # the same probe with held-out instruction sentences, in the card and in probe.json
    import json

    assert result.final_probe_unseen is not None and "no training data used" in card
    measured = json.loads((tmp_path / "out" / "probe.json").read_text())
    assert measured["unseen_phrasings"]["pass_at_1"] == result.final_probe_unseen.pass_at_1


def test_exported_weights_are_bf16(tmp_path, verifier) -> None:
    import torch

    pretrain(PretrainConfig(**TINY), tmp_path / "out", tmp_path / "work", verifier)
    assert {t.dtype for t in _weights(tmp_path / "out").values()} == {torch.bfloat16}


def _interrupted_then_resumed(cfg: PretrainConfig, root: Path, at: int, verifier) -> dict:
    """Run ``cfg`` in ``root``, interrupted when step ``at`` reports (before its checkpoint),
    then resumed to the end; the last checkpoint's weights."""

    def stop(p) -> None:
        if p.step == at:
            raise Interrupted

    with pytest.raises(Interrupted):
        pretrain(cfg, root / "out", root / "work", verifier, on_progress=stop)
    pretrain(cfg, root / "out", root / "work", verifier, resume=True)
    return _weights(root / "work" / "checkpoints" / f"checkpoint-{cfg.steps:06d}")


def test_resumed_run_ends_with_the_weights_of_an_uninterrupted_one(tmp_path, verifier) -> None:
    import torch

    cfg = PretrainConfig(**TINY)
    pretrain(cfg, tmp_path / "a", tmp_path / "wa", verifier)
    a = _weights(tmp_path / "wa" / "checkpoints" / "checkpoint-000004")
    b = _interrupted_then_resumed(cfg, tmp_path / "b", 3, verifier)
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_a_step_draws_the_same_fresh_batch_from_its_seed() -> None:
    cfg = PretrainConfig()
    assert batch_pairs(cfg, 7) == batch_pairs(cfg, 7)
    assert batch_pairs(cfg, 7) != batch_pairs(cfg, 8)


def test_batch_mixes_single_steps_aggregates_and_proposals() -> None:
    pairs = batch_pairs(PretrainConfig(batch_size=64), 0)
    proposals = [c for _, c in pairs if c.startswith("Instruction:")]
    aggregates_alone = [c for _, c in pairs if c.startswith("def f(xs):\n    return [")]
    assert len(pairs) >= 60 and 3 <= len(proposals) <= 10 and len(aggregates_alone) >= 10


def test_learning_rate_warms_up_then_decays_to_its_floor() -> None:
    cfg = PretrainConfig(steps=100, warmup_steps=10, learning_rate=1e-3, min_lr_ratio=0.1)
    assert lr_at(cfg, 0) < lr_at(cfg, 9) == pytest.approx(1e-3)
    assert lr_at(cfg, 99) == pytest.approx(1e-4, rel=0.01)


def test_bad_option_raises_with_the_rule() -> None:
    with pytest.raises(ValueError, match="num_heads"):
        PretrainConfig(hidden_size=30, num_heads=4)


def test_cli_refuses_a_bad_option_with_exit_2(tmp_path) -> None:
    from typer.testing import CliRunner

    from closedloop.cli import app

    args = ["pretrain", "--width", "30", "--heads", "4", "--work-dir", str(tmp_path)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2 and "num_heads" in result.output
    # a directory that is no base is named before anything starts or is written
    args = ["pretrain", "--init-from", str(tmp_path / "nope"), "--work-dir", str(tmp_path / "w")]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2 and "--init-from" in result.output
    assert "not a base directory" in result.output and not (tmp_path / "w").exists()


def test_cli_resume_with_nothing_to_resume_says_it_starts_at_step_0(tmp_path) -> None:
    # it trained from scratch without a word, as if it had resumed
    import subprocess
    import sys

    args = [
        sys.executable, "-m", "closedloop.cli", "pretrain", "--resume", "--steps", "2",
        "--width", "32", "--mlp", "64", "--layers", "1", "--heads", "2", "--vocab-size", "300",
        "--batch-size", "4", "--warmup", "1", "--probe-every", "0", "--final-probe-per", "0",
        "--work-dir", str(tmp_path / "w"), "--out", str(tmp_path / "out"), "--workers", "1",
    ]  # fmt: skip
    r = subprocess.run(args, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    assert f"no checkpoint to resume in {tmp_path / 'w'}; starting at step 0" in r.stderr


def test_aggregate_alone_tasks_agree_with_their_program_in_the_sandbox(verifier) -> None:
    from closedloop.loop.domain import grammar_task
    from closedloop.train.pretrain import aggregate_task
    from closedloop.verify.outcome import Outcome

    drawn = [aggregate_task(seed) for seed in range(30)]
    tasks = [grammar_task(gt, f"agg/{i}", "Write f.") for i, gt in enumerate(drawn) if gt]
    verdicts = verifier.verify_many([(t, t.example_solution or "") for t in tasks])
    assert len(tasks) >= 25 and all(v.outcome is Outcome.PASS for v in verdicts)
    assert all(t.example_solution.startswith("def f(xs):\n    return [") for t in tasks)


def test_the_commands_defaults_are_the_configs_defaults() -> None:
    # closedloop pretrain with no options must build PretrainConfig() (the shipped recipe):
    # the option defaults are written beside the fields and must not drift from them
    import inspect

    from closedloop.cli.pretrain_cmd import pretrain as command

    options = {k: p.default for k, p in inspect.signature(command).parameters.items()}
    names = {
        "seed": "seed",
        "steps": "steps",
        "batch_size": "batch_size",
        "lr": "learning_rate",
        "warmup": "warmup_steps",
        "width": "hidden_size",
        "mlp": "intermediate_size",
        "layers": "num_layers",
        "heads": "num_heads",
        "vocab_size": "vocab_size",
        "integer_tokens": "integer_tokens",
        "value_embeddings": "value_embeddings",
        "list_positions": "list_positions",
        "deduction_per_step": "deduction_per_step",
        "relational_share": "relational_share",
        "identity_share": "identity_share",
        "focus_share": "focus_share",
        "max_depth": "max_depth",
        "probe_every": "probe_every",
        "probe_per": "probe_per",
        "final_probe_per": "final_probe_per",
        "stop_at": "stop_at",
        "patience": "patience",
        "max_minutes": "max_minutes",
        "checkpoint_every": "checkpoint_every",
        "init_from": "init_from",
    }
    defaults = PretrainConfig()
    assert {o: options[o] for o in names} == {o: getattr(defaults, f) for o, f in names.items()}
    assert options["focus"] is None and defaults.focus == ()  # no --focus: no kinds


def test_deduction_completions_are_what_the_program_returns_in_the_sandbox(verifier) -> None:
    # a deduction example teaches execution: its completion must be the program's own output
    import ast
    import re

    from closedloop.train.pretrain import deduction_pairs
    from closedloop.verify import CallJob

    pairs = deduction_pairs(PretrainConfig(), 3, 40)
    jobs = []
    for prompt, _ in pairs:
        xs = re.match(r"What does f return for xs = (\[.*?\])\?\n", prompt)
        assert xs is not None, prompt
        jobs.append(CallJob(prompt[xs.end() :], "f", [repr((ast.literal_eval(xs.group(1)),))]))
    results = verifier.call_many(jobs)
    assert len(pairs) == 40 and len({p for p, _ in pairs}) == 40
    for (_, completion), res in zip(pairs, results, strict=True):
        assert res[0].ok and ast.literal_eval(res[0].value) == ast.literal_eval(completion)


def test_a_batch_carries_its_deduction_examples_on_top_of_the_batch_size() -> None:
    with_ded = batch_pairs(PretrainConfig(batch_size=32, deduction_per_step=8), 4)
    without = batch_pairs(PretrainConfig(batch_size=32, deduction_per_step=0), 4)
    assert with_ded[: len(without)] == without and len(with_ded) == len(without) + 8


def test_value_embeddings_need_integer_tokens() -> None:
    with pytest.raises(ValueError, match="integer_tokens"):
        PretrainConfig(integer_tokens=False, value_embeddings=True)


def test_list_positions_build_the_list_llama_and_a_resume_must_match(tmp_path, verifier) -> None:
    from closedloop.policy.hf import HFPolicy

    with pytest.raises(ValueError, match="integer_tokens"):
        PretrainConfig(integer_tokens=False, list_positions=True)
    cfg = PretrainConfig(**{**TINY, "steps": 2, "list_positions": True})
    pretrain(cfg, tmp_path / "out", tmp_path / "work", verifier)
    policy = HFPolicy.from_pretrained(tmp_path / "out", device="cpu")
    assert type(policy.model).__name__ == "ListLlamaForCausalLM"
    assert "list_from_end.weight" in " ".join(_weights(tmp_path / "out"))
    with pytest.raises(ValueError, match="list_positions"):
        pretrain(
            PretrainConfig(**{**TINY, "steps": 3}),
            tmp_path / "o2",
            tmp_path / "work",
            verifier,
            resume=True,
        )


def test_instruction_variety_changes_the_phrasing_of_the_same_programs() -> None:
    from closedloop.loop.config import RunConfig
    from closedloop.loop.phrasing import INSTRUCTIONS

    challenger = RunConfig().challenger_prompt

    def solver_pairs(**extra: object) -> list[tuple[str, str]]:
        pairs = batch_pairs(PretrainConfig(**{**TINY, "batch_size": 32, **extra}), 7)
        return [(p, c) for p, c in pairs if p != challenger]

    fixed, varied = solver_pairs(), solver_pairs(instruction_variety=True)
    assert [c for _, c in fixed] == [c for _, c in varied]  # the same programs
    assert {p.split("\n")[0] for p, _ in fixed} <= set(INSTRUCTIONS)
    assert len({p.split("\n")[0] for p, _ in varied} - set(INSTRUCTIONS)) > 5


def test_relational_tasks_need_the_inputs_and_agree_with_the_sandbox(verifier) -> None:
    # the relational share exists to teach comparing inputs with outputs: every task it draws
    # must be a one-rule program of that kind, and its examples the program's own
    from closedloop.loop.domain import grammar_task
    from closedloop.train.pretrain import is_relational, relational_task
    from closedloop.verify.outcome import Outcome

    drawn = [relational_task(seed) for seed in range(60)]
    assert all(gt is not None and is_relational(gt.program) for gt in drawn)
    shapes = {re.sub(r"\d+", "k", gt.program.code.split("\n")[1]) for gt in drawn if gt}
    assert len(shapes) >= 8  # maps, thresholds, slices, reverse and picks, not one kind
    tasks = [grammar_task(gt, f"rel/{i}", "Write f.") for i, gt in enumerate(drawn) if gt]
    verdicts = verifier.verify_many([(t, t.example_solution or "") for t in tasks[:30]])
    assert all(v.outcome is Outcome.PASS for v in verdicts)


def test_rules_the_outputs_alone_tell_are_not_relational() -> None:
    from closedloop.loop.grammar import sample_task
    from closedloop.train.pretrain import aggregate_task, is_relational

    told_by_outputs = ("sorted(", "x * ", "% 2 ==", "[sum(", "[len(", "[max(", "[min(")

    checked = 0
    for seed in range(300):
        for gt in (sample_task(seed, max_depth=1), aggregate_task(seed)):
            one_rule = gt is not None and len(gt.program.steps) + bool(gt.program.aggregate) == 1
            if one_rule and any(k in gt.program.code for k in told_by_outputs):
                checked += 1
                assert not is_relational(gt.program), gt.program.code
    assert checked > 100


def test_the_relational_share_replaces_ordinary_examples_at_the_same_batch_size() -> None:
    from closedloop.train.pretrain import is_relational_rule

    def relational(pairs: list[tuple[str, str]]) -> int:
        # a one-rule completion: "def f(xs):\n    xs = RULE\n    return xs\n" or "return [..]"
        rules = []
        for _, c in pairs:
            body = [ln.strip() for ln in c.splitlines()[1:]]
            if body == [body[0], "return xs"] and body[0].startswith("xs = "):
                rules.append(body[0].removeprefix("xs = "))
            elif len(body) == 1 and body[0].startswith("return "):
                rules.append(body[0].removeprefix("return "))
        return sum(map(is_relational_rule, rules))

    plain = batch_pairs(PretrainConfig(batch_size=40), 5)
    mixed = batch_pairs(PretrainConfig(batch_size=40, relational_share=0.5), 5)
    assert abs(len(mixed) - len(plain)) <= 2
    # plain: ~1/3 of its 40 are relational by chance (12 here); mixed: 20 drawn so, ~1/3 of the rest
    assert relational(mixed) >= relational(plain) + 10
    with pytest.raises(ValueError, match="relational_share"):
        PretrainConfig(relational_share=0.78)  # no room left beside the challenger's examples


def test_the_identity_share_teaches_return_xs_on_lists_the_sandbox_returns_unchanged(
    verifier,
) -> None:
    # the grammar's draws drop tasks whose outputs equal their inputs; the identity share is
    # the only way a base sees the rule, so its examples must be real identity tasks
    from closedloop.loop.domain import grammar_task
    from closedloop.loop.grammar import identity_task
    from closedloop.verify.outcome import Outcome

    def identities(pairs: list[tuple[str, str]]) -> int:
        return sum(
            1
            for _, c in pairs
            if [ln.strip() for ln in c.splitlines()] == ["def f(xs):", "return xs"]
        )

    plain = batch_pairs(PretrainConfig(batch_size=40), 5)
    mixed = batch_pairs(PretrainConfig(batch_size=40, identity_share=0.1), 5)
    assert identities(plain) == 0 and identities(mixed) == 4
    assert abs(len(mixed) - len(plain)) <= 2  # they replace ordinary examples
    drawn = [identity_task(seed) for seed in range(10)]
    assert len({gt.inputs for gt in drawn}) == 10
    tasks = [grammar_task(gt, f"id/{i}", "Write f.") for i, gt in enumerate(drawn)]
    assert all(t.public_tests[0].input != t.public_tests[1].input for t in tasks)
    verdicts = verifier.verify_many([(t, t.example_solution or "") for t in tasks])
    assert all(v.outcome is Outcome.PASS for v in verdicts)
    # a wrong rule fails them (the examples tell the identity from a transformation)
    wrong = verifier.verify_many([(t, "def f(xs):\n    return xs[::-1]\n") for t in tasks])
    assert sum(v.outcome is Outcome.PASS for v in wrong) <= 1
    with pytest.raises(ValueError, match="relational_share"):
        PretrainConfig(relational_share=0.65, identity_share=0.1)  # together past the room
    with pytest.raises(ValueError, match="identity_share"):
        PretrainConfig(identity_share=-0.1)


def test_the_focus_share_draws_only_the_named_kinds_and_their_examples_hold_in_the_sandbox(
    verifier,
) -> None:
    # a base that misreads some kinds (x + c as x + 1, even as xs[::2]) is shown more of them:
    # every focus example must be a single rule of a named kind, every kind must come up, and
    # the examples must be the program's real outputs
    from closedloop.loop.domain import grammar_task
    from closedloop.train.pretrain import focus_task
    from closedloop.verify.outcome import Outcome

    kinds = ("even", "add", "pick")
    drawn = [focus_task(seed, kinds) for seed in range(60)]
    assert all(gt is not None for gt in drawn)

    def kind(gt) -> str | None:
        codes = [s.code for s in gt.program.steps]
        codes += [gt.program.aggregate.code] if gt.program.aggregate else []
        if len(codes) != 1:
            return None
        if codes[0] == "[x for x in xs if x % 2 == 0]":
            return "even"
        return (
            "add"
            if codes[0].startswith("[x + ")
            else "pick"
            if codes[0].startswith("[xs[")
            else None
        )

    assert [kind(gt) for gt in drawn].count(None) == 0
    assert {kind(gt) for gt in drawn} == set(kinds)
    codes = [gt.program.code for gt in drawn]
    assert len({c for c in codes if "[x + " in c}) >= 4  # the grammar's constants, not one
    tasks = [grammar_task(gt, f"focus/{i}", "Write f.") for i, gt in enumerate(drawn[:20])]
    verdicts = verifier.verify_many([(t, t.example_solution or "") for t in tasks])
    assert all(v.outcome is Outcome.PASS for v in verdicts)

    def focused(pairs: list[tuple[str, str]]) -> int:
        return sum(1 for _, c in pairs if "x % 2 == 0" in c)

    plain = batch_pairs(PretrainConfig(batch_size=40), 5)
    mixed = batch_pairs(PretrainConfig(batch_size=40, focus=("even",), focus_share=0.25), 5)
    assert abs(len(mixed) - len(plain)) <= 2  # they replace ordinary examples
    assert focused(mixed) >= focused(plain) + 8
    with pytest.raises(ValueError, match="focus kinds"):
        PretrainConfig(focus=("evens",))
    with pytest.raises(ValueError, match="needs at least one focus kind"):
        PretrainConfig(focus_share=0.1)
    with pytest.raises(ValueError, match="focus_share"):
        PretrainConfig(relational_share=0.5, focus=("add",), focus_share=0.3)  # past the room


def test_init_from_continues_a_base_at_its_last_step_on_batches_it_never_saw(
    tmp_path, verifier
) -> None:
    import torch

    base_cfg = PretrainConfig(**TINY)
    pretrain(base_cfg, tmp_path / "base", tmp_path / "wbase", verifier)
    cfg = PretrainConfig(
        **{**TINY, "steps": 7, "warmup_steps": 4, "init_from": str(tmp_path / "base")}
    )
    seen = []
    result = pretrain(
        cfg, tmp_path / "out", tmp_path / "work", verifier, on_progress=lambda p: seen.append(p)
    )
    # it starts where the base ended: steps 5..7 (batches 4..6), the base's curve kept
    assert [p.step for p in seen] == [5, 6, 7] and result.steps == 7
    assert [int(r["step"]) for r in result.curve][:2] == [2, 4]
    # from the base's weights, not fresh ones: the first step moved them only a little
    base, fresh = _weights(tmp_path / "base"), _weights(tmp_path / "wbase" / "init")
    after = _weights(tmp_path / "work" / "checkpoints" / "checkpoint-000007")
    key = "model.embed_tokens.weight"
    assert (after[key].float() - base[key].float()).abs().mean() < (
        fresh[key].float() - base[key].float()
    ).abs().mean()
    # the learning rate is warmed up again from the base's last step (a fresh AdamW)
    assert 0 < seen[0].lr < lr_at(cfg, 4)
    # the card names the base by its weights' hash too: a later build may sit at its path
    base_sha = sha256_of(tmp_path / "base" / WEIGHTS_FILE)
    assert result.init_sha256 == base_sha
    assert (
        f"Started from the weights of `{tmp_path / 'base'}` (SHA-256 `{base_sha}`)"
        in (tmp_path / "out" / CARD_FILE).read_text()
    )

    # interrupted after its step-6 checkpoint and resumed from it, it keeps its start (and
    # warm-up): the uninterrupted weights, and the hash of the base it started from
    again = _interrupted_then_resumed(cfg, tmp_path / "again", 7, verifier)
    assert all(torch.equal(after[k], again[k]) for k in after)
    assert base_sha in (tmp_path / "again" / "out" / CARD_FILE).read_text()


def test_init_from_may_be_the_work_directorys_own_copy_of_the_base(tmp_path, verifier) -> None:
    # the copy removed work/init before reading it: the base was lost, then a traceback
    pretrain(PretrainConfig(**TINY), tmp_path / "base", tmp_path / "wbase", verifier)
    shutil.copytree(tmp_path / "base", tmp_path / "work" / "init")
    cfg = PretrainConfig(**{**TINY, "steps": 7, "init_from": str(tmp_path / "work" / "init")})
    result = pretrain(cfg, tmp_path / "out", tmp_path / "work", verifier)
    assert result.steps == 7 and result.init_sha256 == sha256_of(tmp_path / "base" / WEIGHTS_FILE)


@pytest.mark.parametrize("damaged", ["trainer_state.pt", "rng.pt", "model.safetensors"])
def test_a_damaged_checkpoint_is_named_not_a_traceback(tmp_path, verifier, damaged) -> None:
    # a truncated file ended the resume in a traceback (an empty one in click's "aborted")
    cfg = PretrainConfig(**TINY)
    pretrain(cfg, tmp_path / "out", tmp_path / "work", verifier)
    latest = tmp_path / "work" / "checkpoints" / "checkpoint-000004"
    (latest / damaged).write_bytes((latest / damaged).read_bytes()[:10])
    with pytest.raises(ValueError, match="checkpoint-000004 does not load"):
        pretrain(cfg, tmp_path / "out", tmp_path / "work", verifier, resume=True)


def test_init_from_refuses_a_base_of_another_architecture(tmp_path, verifier) -> None:
    pretrain(PretrainConfig(**TINY), tmp_path / "base", tmp_path / "wbase", verifier)
    cfg = PretrainConfig(
        **{**TINY, "steps": 7, "hidden_size": 64, "init_from": str(tmp_path / "base")}
    )
    with pytest.raises(ValueError, match="--init-from .*hidden_size"):
        pretrain(cfg, tmp_path / "out", tmp_path / "work", verifier)
    with pytest.raises(ValueError, match="--init-from .*--steps must be larger"):
        pretrain(
            PretrainConfig(**{**TINY, "init_from": str(tmp_path / "base")}),
            tmp_path / "o2",
            tmp_path / "w2",
            verifier,
        )


# ---- depth growth (closedloop.train.grow) -------------------------------------------------


def test_growth_plan_spreads_the_new_blocks_through_the_stack() -> None:
    assert growth_plan(4, 6) == [0, 1, None, 2, 3, None]
    assert growth_plan(4, 8) == [0, None, 1, None, 2, None, 3, None]
    assert growth_plan(3, 3) == [0, 1, 2]
    with pytest.raises(ValueError, match="cannot grow 4 blocks to 3"):
        growth_plan(4, 3)


def test_a_grown_base_gives_the_same_logits_and_its_new_blocks_learn(tmp_path, verifier) -> None:
    import torch

    from closedloop.policy.hf import HFPolicy

    pretrain(
        PretrainConfig(**{**TINY, "num_layers": 2}), tmp_path / "base", tmp_path / "w", verifier
    )
    grown_dir = tmp_path / "grown"
    shutil.copytree(tmp_path / "base", grown_dir)
    assert grow_layers(grown_dir, 3) == [0, 1, None]
    base = HFPolicy.from_pretrained(tmp_path / "base", device="cpu")
    grown = HFPolicy.from_pretrained(grown_dir, device="cpu")
    assert grown.model.config.num_hidden_layers == 3
    ids = torch.randint(5, 300, (2, 17))
    with torch.no_grad():
        assert torch.equal(base.model(ids).logits, grown.model(ids).logits)
    # the new block is a copy of block 1 with its output projections zeroed; a loss still
    # reaches those projections, so training moves them off zero
    new = grown.model.model.layers[2]
    assert torch.equal(
        new.self_attn.q_proj.weight, grown.model.model.layers[1].self_attn.q_proj.weight
    )
    assert not new.self_attn.o_proj.weight.any() and not new.mlp.down_proj.weight.any()
    grown.model.train()
    grown.model(ids, labels=ids).loss.backward()
    assert new.self_attn.o_proj.weight.grad.abs().sum() > 0
    assert new.mlp.down_proj.weight.grad.abs().sum() > 0


def test_pretrain_grows_a_shallower_base_and_says_so_in_the_card(tmp_path, verifier) -> None:
    from safetensors.torch import load_file

    pretrain(PretrainConfig(**TINY), tmp_path / "base", tmp_path / "wbase", verifier)
    cfg = PretrainConfig(
        **{**TINY, "steps": 6, "num_layers": 2, "init_from": str(tmp_path / "base")}
    )
    result = pretrain(cfg, tmp_path / "out", tmp_path / "work", verifier)
    assert result.steps == 6
    weights = load_file(str(tmp_path / "out" / "model.safetensors"))
    assert any(k.startswith("model.layers.1.") for k in weights)
    assert "Grown from its 1 blocks to 2" in (tmp_path / "out" / CARD_FILE).read_text()
    # a deeper base is not cut down
    with pytest.raises(ValueError, match="--init-from .*num_layers"):
        pretrain(
            PretrainConfig(**{**TINY, "steps": 9, "init_from": str(tmp_path / "out")}),
            tmp_path / "o2",
            tmp_path / "w2",
            verifier,
        )


def _tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def test_an_export_replaces_the_model_whole_and_keeps_what_it_does_not_write(
    tmp_path, verifier, monkeypatch
) -> None:
    import closedloop.train.pretrain as pretrain_module

    out = tmp_path / "out"
    out.mkdir()
    (out / "__init__.py").write_text('"""the package directory the base ships in"""\n')
    (out / WEIGHTS_FILE).write_bytes(b"an older base")
    pretrain(PretrainConfig(**TINY), out, tmp_path / "work", verifier)
    assert (out / "__init__.py").read_text().startswith('"""the package')
    assert (out / WEIGHTS_FILE).read_bytes() != b"an older base"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out", "work"]  # no staging left
    before = _tree(out)

    # stopped half-way through the export (here: writing the card, after the weights)
    def fail(*_a, **_k):
        raise KeyboardInterrupt

    monkeypatch.setattr(pretrain_module, "model_card", fail)
    cfg = PretrainConfig(**{**TINY, "seed": 1})
    with pytest.raises(KeyboardInterrupt):
        pretrain(cfg, out, tmp_path / "work2", verifier)
    assert _tree(out) == before  # the old model, card and all, byte for byte
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out", "work", "work2"]


def test_an_export_through_a_symlink_or_to_a_mount_point_replaces_the_model_in_place(
    tmp_path, verifier
) -> None:
    import os
    import subprocess

    # a symlinked --out: its target gets the model, the link stays a link, nothing is left
    target = tmp_path / "models" / "base"
    target.mkdir(parents=True)
    target.chmod(0o700)
    (tmp_path / "link").symlink_to(target)
    pretrain(PretrainConfig(**TINY), tmp_path / "link", tmp_path / "work", verifier)
    assert (tmp_path / "link").is_symlink() and (target / WEIGHTS_FILE).is_file()
    assert sorted(p.name for p in target.parent.iterdir()) == ["base"]
    assert target.stat().st_mode & 0o777 == 0o700  # its mode kept, not widened
    # a mount point (a volume) cannot be renamed: its files are replaced one by one
    mount = tmp_path / "volume"
    mount.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "tmpfs", str(mount)]).returncode != 0:
        pytest.skip("cannot mount a tmpfs here")
    try:
        (mount / WEIGHTS_FILE).write_bytes(b"an older base")
        pretrain(PretrainConfig(**TINY), mount, tmp_path / "work2", verifier)
        assert os.path.ismount(mount)
        assert (mount / WEIGHTS_FILE).read_bytes() != b"an older base"
        assert sorted(p.name for p in mount.iterdir() if p.name.startswith(".")) == []
        assert (mount / CARD_FILE).is_file()
    finally:
        subprocess.run(["umount", str(mount)])
