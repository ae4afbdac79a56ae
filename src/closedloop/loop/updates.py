"""Moved: the one SFT path is :func:`closedloop.train.sft.sft_steps`; import it from there."""

from closedloop.train.sft import SFTRun, sft_steps

__all__ = ["SFTRun", "sft_steps"]
