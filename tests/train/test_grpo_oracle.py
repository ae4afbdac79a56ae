"""The GRPO loss matches TRL's GRPOTrainer._compute_loss on the same batch (TRL as oracle)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from closedloop.policy.logprobs import TokenBatch, completion_logprobs
from closedloop.train.grpo_loss import LossAggregation, grpo_loss


@pytest.fixture(scope="module")
def trl_factory(char_model_dir: Path, tmp_path_factory: pytest.TempPathFactory):
    from datasets import Dataset
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from trl import GRPOConfig, GRPOTrainer

    def build(loss_type: str, beta: float, temperature: float, correction: bool) -> GRPOTrainer:
        args = GRPOConfig(
            output_dir=str(tmp_path_factory.mktemp("trl")),
            loss_type=loss_type,
            beta=beta,
            epsilon=0.2,
            temperature=temperature,
            per_device_train_batch_size=4,
            num_generations=4,
            max_completion_length=MAX_COMPLETION_LENGTH,
            report_to="none",
            use_bias_correction_kl=correction,
            use_cpu=True,
        )
        trainer = GRPOTrainer(
            model=AutoModelForCausalLM.from_pretrained(str(char_model_dir)),
            reward_funcs=lambda completions, **_: [0.0] * len(completions),
            args=args,
            train_dataset=Dataset.from_dict({"prompt": ["abc"] * 8}),
            processing_class=AutoTokenizer.from_pretrained(str(char_model_dir)),
        )
        trainer.current_gradient_accumulation_steps = 1
        trainer.model.train()
        return trainer

    return build


MAX_COMPLETION_LENGTH = 8  # TRL's max_completion_length in trl_factory: dr_grpo's constant
NUM_ITEMS_IN_BATCH = 29.0  # TRL's dapo: trained tokens of the whole generation batch (> ours)


@pytest.mark.parametrize(
    ("aggregation", "beta", "temperature", "correction"),
    [
        (LossAggregation.SEQUENCE, 0.04, 0.7, True),
        (LossAggregation.SEQUENCE, 0.1, 1.0, False),
        (LossAggregation.TOKEN, 0.0, 1.0, True),
        (LossAggregation.DAPO, 0.04, 0.7, True),
        (LossAggregation.DR_GRPO, 0.1, 1.0, False),
    ],
)
def test_grpo_loss_matches_trl(trl_factory, aggregation, beta, temperature, correction) -> None:
    trl = trl_factory(str(aggregation), beta, temperature, correction)
    gen = torch.Generator().manual_seed(0)
    b, p, c = 4, 3, 5
    prompt_ids = torch.randint(3, 12, (b, p), generator=gen)
    completion_ids = torch.randint(3, 12, (b, c), generator=gen)
    completion_mask = torch.tensor([[1] * 5, [1] * 3 + [0] * 2, [1] * 5, [1] + [0] * 4])
    advantages = torch.randn(b, generator=gen)
    old = -torch.rand(b, c, generator=gen) * 3  # far from the policy: clipping is exercised
    ref = -torch.rand(b, c, generator=gen) * 3
    inputs = {
        "prompt_ids": prompt_ids,
        "prompt_mask": torch.ones(b, p, dtype=torch.long),
        "completion_ids": completion_ids,
        "completion_mask": completion_mask,
        "advantages": advantages,
        "old_per_token_logps": old,
        "ref_per_token_logps": ref,
        "num_items_in_batch": torch.tensor(NUM_ITEMS_IN_BATCH),
    }
    expected = trl._compute_loss(trl.model, inputs)

    batch = TokenBatch(
        input_ids=torch.cat([prompt_ids, completion_ids], 1),
        attention_mask=torch.cat([torch.ones(b, p, dtype=torch.long), completion_mask], 1),
        completion_mask=completion_mask,
        prompt_len=p,
    )
    # the per-row form the trainer uses (every row at the one temperature TRL knows)
    logps, _ = completion_logprobs(trl.model, batch, torch.full((b,), temperature))
    ours = grpo_loss(
        logps,
        old,
        advantages,
        completion_mask.float(),
        0.2,
        0.2,
        beta,
        ref,
        aggregation,
        correction,
        dapo_normalizer=NUM_ITEMS_IN_BATCH,  # TRL's per-step normaliser with one step per batch
        max_completion_length=MAX_COMPLETION_LENGTH,
    )
    print(f"{aggregation}: ours {ours.loss.item():.6f} TRL {expected.item():.6f}")
    assert torch.allclose(ours.loss, expected, atol=1e-5, rtol=5e-4)
    assert ours.clip_ratio == pytest.approx(
        trl._metrics["train"]["clip_ratio/region_mean"][-1], abs=1e-6
    )
    assert ours.clip_ratio > 0
    if beta and not correction:  # TRL logs the ratio-weighted KL when correcting
        assert ours.kl_ref == pytest.approx(trl._metrics["train"]["kl"][-1], rel=1e-3)
