"""Loss masks: tokens the environment wrote never move the loss or the gradient."""

from __future__ import annotations

import copy

import torch

from closedloop.train.grpo import GRPOConfig, GRPOTrainer
from closedloop.train.grpo_loss import grpo_loss
from closedloop.train.trajectory import Trajectory
from closedloop.verify.outcome import Outcome


def test_masked_token_logprobs_do_not_change_loss_or_grad() -> None:
    gen = torch.Generator().manual_seed(1)
    logps = -torch.rand(3, 6, generator=gen)
    old = -torch.rand(3, 6, generator=gen)
    ref = -torch.rand(3, 6, generator=gen)
    adv = torch.tensor([1.0, -0.5, 0.3])
    mask = torch.tensor([[1, 1, 0, 0, 1, 1], [1, 0, 0, 1, 1, 0], [0, 1, 1, 1, 1, 1]]).float()

    def loss_and_grad(lp: torch.Tensor, o: torch.Tensor) -> tuple[float, torch.Tensor]:
        lp = lp.clone().requires_grad_(True)
        out = grpo_loss(lp, o, adv, mask, beta=0.1, ref_logps=ref).loss
        out.backward()
        return out.item(), lp.grad

    base_loss, base_grad = loss_and_grad(logps, old)
    noise = torch.where(mask.bool(), 0.0, 50.0)  # huge changes, masked positions only
    new_loss, new_grad = loss_and_grad(logps - noise, old + noise)
    assert new_loss == base_loss
    assert torch.equal(new_grad, base_grad)
    assert torch.all(base_grad[~mask.bool()] == 0)


def feedback_trajectory(env_logprob: float, env_token: int, reward: float, gid: str) -> Trajectory:
    # policy wrote 3,4; the environment wrote 9 (feedback); the policy wrote 5 and EOS after it
    return Trajectory(
        prompt_ids=(3, 4, 5),
        completion_ids=(3, 4, env_token, 5, 2),
        loss_mask=(1, 1, 0, 1, 1),
        sampling_logprobs=(-2.0, -2.1, env_logprob, -2.2, -2.3),
        temperature=1.0,
        reward=reward,
        group_id=gid,
        policy_version=0,
        outcome=Outcome.PASS if reward else Outcome.FAIL,
    )


def test_feedback_sampling_logprobs_never_change_the_update(char_policy) -> None:
    other = copy.deepcopy(char_policy)
    cfg = GRPOConfig(learning_rate=1e-2, minibatch_size=8, beta=0.05)
    updates = []
    for policy, env_lp in ((char_policy, -1.0), (other, -40.0)):
        trainer = GRPOTrainer(policy, cfg)
        batch = [feedback_trajectory(env_lp, 9, r, "g") for r in (1.0, 0.0, 1.0, 0.0)]
        metrics = trainer.step(batch)
        assert metrics.num_tokens == 16
        updates.append([p.detach().clone() for p in policy.model.parameters()])
    for a, b in zip(*updates, strict=True):
        assert torch.equal(a, b)
