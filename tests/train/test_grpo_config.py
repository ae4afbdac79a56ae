"""GRPOConfig: a frozen pydantic model that names the field in every error and nests in a run
config; its default aggregation is TRL's token-level ``dapo``."""

from __future__ import annotations

import pytest
from pydantic import BaseModel, ValidationError

from closedloop.train.grpo import GRPOConfig
from closedloop.train.grpo_loss import LossAggregation


def test_default_aggregation_is_token_level_dapo() -> None:
    assert GRPOConfig().aggregation is LossAggregation.DAPO


def test_temperature_is_not_a_setting_of_the_update() -> None:
    # each trajectory carries the temperature it was sampled at; a config copy of it was lost
    with pytest.raises(ValidationError, match="temperature"):
        GRPOConfig(temperature=0.7)


def test_an_invalid_value_names_its_field() -> None:
    with pytest.raises(ValidationError, match="learning_rate"):
        GRPOConfig(learning_rate=0)


def test_dr_grpo_needs_its_constant_normaliser() -> None:
    with pytest.raises(ValidationError, match="max_completion_length"):
        GRPOConfig(aggregation="dr_grpo")
    assert GRPOConfig(aggregation="dr_grpo", max_completion_length=64).max_completion_length == 64


def test_it_nests_in_a_parent_config_from_plain_data() -> None:
    class Train(BaseModel):
        grpo: GRPOConfig = GRPOConfig()

    train = Train.model_validate({"grpo": {"aggregation": "bnpo", "minibatch_size": 8}})
    assert train.grpo.aggregation is LossAggregation.TOKEN and train.grpo.minibatch_size == 8
    with pytest.raises(ValidationError, match="grpo.beta"):
        Train.model_validate({"grpo": {"beta": -1}})


def test_it_is_frozen() -> None:
    with pytest.raises(ValidationError, match="frozen"):
        GRPOConfig().beta = 0.5  # type: ignore[misc]
