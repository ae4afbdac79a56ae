"""The names of the loop's metrics: every key of a ``metrics.jsonl`` row, defined once.

The loop writes these keys, the detectors, the report, the summary line and the benchmarks
read them; each side names a key through :class:`Metric` (a ``StrEnum``: a member equals its
string, so rows read back from ``metrics.jsonl`` or the run store need no conversion), never
through a string literal of its own. Keys made of a prefix and an open-ended name (a held-out
set, a rejection reason) are built and split by the functions below, not by f-strings.

A row holds only what its iteration measured: held-out keys only where it evaluated, the
cold start's row (iteration 0) its own few keys. :func:`check_keys` refuses a key defined
nowhere here (``MetricsLog.write`` calls it), so a new metric is added here or not at all.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum


class Metric(StrEnum):
    """One scalar of a metrics row: what it measures, and its unit."""

    ITERATION = "iteration"  # the row's iteration, 0 = cold start (every row has it)
    SECONDS = "seconds"  # wall time of the iteration, or of the whole cold start (s)

    # cold start (iteration 0 only)
    SFT_STEPS = "sft_steps"  # optimizer steps of the cold start's SFT (count)
    SFT_LOSS = "sft_loss"  # cold-start SFT's last minibatch loss (cross-entropy, nats/token)
    SEED_TASKS = "seed_tasks"  # seed tasks put in the pool after the contamination guard (count)

    # generate: the challenger's proposals
    PROPOSED = "proposed"  # proposals sampled from the challenger (count)
    ACCEPTED = "accepted"  # proposals that became pool tasks (count); reject_<reason> the rest
    PROPOSALS_BUILT = "proposals_built"  # proposals that parsed and ran into a task (count)
    PROPOSAL_CLUSTERS = "proposal_clusters"  # near-duplicate clusters among those built (count)
    PROPOSAL_TOP_CLUSTER_SHARE = "proposal_top_cluster_share"  # largest cluster's share (0-1)
    CHALLENGER_REWARD = "challenger_reward"  # mean challenger reward per proposal (reward)
    CHALLENGER_DENIED_CALLS = "challenger_denied_calls"  # calls the sandbox denied its code
    CHALLENGER_LIMITS_HIT = "challenger_limits_hit"  # limits its code ran into (count)

    # attempt: the solver on this iteration's tasks
    TASKS = "tasks"  # tasks attempted (count)
    SOLVE_RATE = "solve_rate"  # share of scored attempts with reward >= 1 (0-1)
    MEAN_REWARD = "mean_reward"  # mean training reward of the scored attempts (reward, 0-1)
    SOLVED_GROUP_SHARE = "solved_group_share"  # share of groups every attempt solved (0-1)
    LEARNABLE_SHARE = "learnable_share"  # share of groups mixing passes and failures (0-1)
    AUDIT_CHECKED = "audit_checked"  # reward passes re-verified by the run's verifier (count)
    AUDIT_AGREEMENT = "audit_agreement"  # share of those the run's verifier confirms (0-1)
    TESTS_AUDIT_CHECKED = "tests_audit_checked"  # reward passes re-run on fresh lists (count)
    TESTS_AUDIT_AGREEMENT = "tests_audit_agreement"  # share computing the task's function (0-1)
    SANDBOX_DENIED_CALLS = "sandbox_denied_calls"  # system calls the sandbox refused (count)
    SANDBOX_LIMITS_HIT = "sandbox_limits_hit"  # limits attempts ran into: CPU, output... (count)
    SANDBOX_REFUSED_SHARE = "sandbox_refused_share"  # attempts refused anything (0-1)

    # train
    OPTIMIZER_STEPS = "optimizer_steps"  # optimizer.step() calls, GRPO and SFT (count)
    KL_POLICY = "kl_policy"  # KL(before || after) over the train phase (nats/position)
    TRAIN_LOSS = "train_loss"  # mean GRPO surrogate loss over its optimizer steps
    TRAIN_ENTROPY = "train_entropy"  # policy entropy on trained tokens, before (nats/token)
    TRAIN_FRAC_ZERO_STD_GROUPS = "train_frac_zero_std_groups"  # groups with equal rewards (0-1)
    TRAIN_ZERO_STD_GROUPS_DROPPED = "train_zero_std_groups_dropped"  # dropped: no signal (count)
    TRAIN_CLIP_RATIO = "train_clip_ratio"  # share of trained tokens whose ratio was clipped (0-1)
    TRAIN_FIRST_PASS_RATIO_DEV = "train_first_pass_ratio_dev"  # max |ratio - 1|, 1st minibatch
    TRAIN_KL_REF = "train_kl_ref"  # k3 KL to the reference policy (nats/token; absent without one)
    TRAIN_KEPT = "train_kept"  # expert iteration: verified successes trained on (count)
    TRAIN_SFT_LOSS = "train_sft_loss"  # the supervised step's last minibatch loss (nats/token)
    TRAIN_HINDSIGHT = "train_hindsight"  # hindsight relabels in the supervised step (count)
    TRAIN_ANCHOR = "train_anchor"  # cold-start examples replayed beside them (count)
    TRAIN_RATIONALIZED = (
        "train_rationalized"  # unsolved tasks trained on their own solution (count)
    )
    TRAIN_RATIONALIZED_PROPOSALS = (
        "train_rationalized_proposals"  # of them, challenger proposals (count)
    )
    TRAIN_REPLAY = "train_replay"  # cold-start examples in the GRPO loss's replay term (count)

    # evaluate (rows that evaluated held-out only)
    HELDOUT_PASS_AT_1 = "heldout_pass@1"  # greedy pass@1 on the primary held-out set (0-1)
    HELDOUT_DISTINCT_PROGRAMS = "heldout_distinct_programs"  # distinct greedy programs (count)
    HELDOUT_TOP_PROGRAM_SHARE = "heldout_top_program_share"  # most common one's share (0-1)
    # ... with eval.samples > 0 (loop.evaluate.SampledEval), on the primary set:
    HELDOUT_FILTERED_PASS_AT_1 = (
        "heldout_filtered_pass@1"  # first sample passing the shown examples (0-1)
    )
    HELDOUT_SAMPLED_PASS_AT_1 = "heldout_sampled_pass@1"  # mean success of the samples (0-1)
    HELDOUT_CONFIDENCE = "heldout_confidence"  # modal program's share of a task's samples (0-1)
    HELDOUT_CONFIDENCE_CORRECTNESS = "heldout_confidence_correctness"  # Pearson r, tasks (-1..1)

    # time per phase (s)
    T_GENERATE = "t_generate"  # challenger sampling, building and validating proposals
    T_ATTEMPT = "t_attempt"  # solver sampling (with its in-episode public-test feedback)
    T_SCORE = "t_score"  # scoring the attempts on the private tests, the audit, challenger rewards
    T_TRAIN = "t_train"  # the update
    T_EVAL = "t_eval"  # held-out evaluation (0 where the iteration did not evaluate)
    T_VERIFY = "t_verify"  # sandbox wall time, overlapping generate, attempt and eval

    # alarms (closedloop.monitor.detectors.AlarmKind): 1.0 in the rows that raised one
    ALARM_REWARD_HACKING = "alarm_reward_hacking"
    ALARM_COLLAPSE = "alarm_collapse"
    ALARM_SATURATION = "alarm_saturation"
    ALARM_REGRESSION = "alarm_regression"


_METRICS = frozenset(m.value for m in Metric)
_TRAIN = "train_"
_ALARM = "alarm_"
_REJECT = "reject_"
"""``reject_<reason>``: proposals rejected for that reason this iteration (count). The reasons
are ``tasks.validate.RejectReason`` and ``roles.challenger.ProposalRejection`` values."""
_HELDOUT_SET = f"{Metric.HELDOUT_PASS_AT_1}/"
"""``heldout_pass@1/<set>``: greedy pass@1 on a held-out set other than the primary (0-1)."""


def train_key(name: str) -> Metric:
    """The metric of the train phase's figure ``name`` (``"loss"`` -> ``train_loss``); raises
    ValueError when no :class:`Metric` is defined for it."""
    try:
        return Metric(_TRAIN + name)
    except ValueError:
        raise ValueError(
            f"train metric {name!r}: no Metric {_TRAIN + name!r}; add it to "
            "closedloop.monitor.names.Metric with its unit"
        ) from None


def alarm_key(kind: str) -> Metric:
    """The metric flagging an alarm of ``kind`` (an ``AlarmKind``): ``alarm_<kind>``."""
    return Metric(_ALARM + kind)


def alarm_kind(key: str) -> str | None:
    """The alarm kind an ``alarm_<kind>`` key flags; None for any other key."""
    return key.removeprefix(_ALARM) if key.startswith(_ALARM) else None


def reject_key(reason: str) -> str:
    """``reject_<reason>``: the count of proposals rejected for ``reason`` (a rejection enum)."""
    if not reason:
        raise ValueError("reject_key: empty rejection reason")
    return _REJECT + reason


def reject_reason(key: str) -> str | None:
    """The rejection reason a ``reject_<reason>`` key counts; None for any other key."""
    if not key.startswith(_REJECT) or key == _REJECT:
        return None
    return key.removeprefix(_REJECT)


def heldout_key(set_name: str | None = None) -> str:
    """Held-out pass@1's key: ``heldout_pass@1`` for the primary set (``set_name`` None), else
    ``heldout_pass@1/<set_name>``."""
    if set_name is None:
        return Metric.HELDOUT_PASS_AT_1
    if not set_name:
        raise ValueError("heldout_key: empty set name (None means the primary set)")
    return _HELDOUT_SET + set_name


def is_heldout_key(key: str) -> bool:
    """Whether ``key`` is a held-out pass@1 key, the primary set's or another set's."""
    return key == Metric.HELDOUT_PASS_AT_1 or (key.startswith(_HELDOUT_SET) and key != _HELDOUT_SET)


def heldout_set(key: str) -> str | None:
    """The set a held-out pass@1 key is about: None for the primary set's key; raises
    ValueError for a key that is not a held-out pass@1 key."""
    if not is_heldout_key(key):
        raise ValueError(f"{key!r} is not a held-out pass@1 key")
    return None if key == Metric.HELDOUT_PASS_AT_1 else key.removeprefix(_HELDOUT_SET)


def is_metric_key(key: str) -> bool:
    """Whether ``key`` is defined here: a :class:`Metric`, ``reject_<reason>`` or
    ``heldout_pass@1/<set>``."""
    return key in _METRICS or reject_reason(key) is not None or is_heldout_key(key)


def check_keys(keys: Iterable[str]) -> None:
    """Raise ValueError naming the first of ``keys`` that :func:`is_metric_key` refuses (a
    typo, or a metric nobody defined): the row would hold a key no reader knows."""
    for key in keys:
        if not is_metric_key(key):
            raise ValueError(
                f"metrics key {key!r} is not a closedloop.monitor.names.Metric (nor "
                f"{_REJECT}<reason> or {_HELDOUT_SET}<set>): add it there with its unit, or use "
                "the member that exists"
            )
