"""Turning a prompt into the text and token ids a model sees (shared by the local backends).

No torch here: only a tokenizer object with the Hugging Face interface is needed.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from closedloop.policy.base import Prompt


class PromptFormat(StrEnum):
    """How a prompt becomes text before tokenization."""

    AUTO = "auto"  # the chat template when the tokenizer has one, else raw
    CHAT = "chat"  # always the chat template (raises if there is none)
    RAW = "raw"  # the string as is; a conversation's contents joined by newlines


def has_chat_template(tokenizer: Any) -> bool:
    """Whether the tokenizer carries a chat template."""
    return bool(getattr(tokenizer, "chat_template", None))


def uses_chat_template(tokenizer: Any, fmt: PromptFormat) -> bool:
    """Whether prompts are rendered through the chat template under ``fmt``.

    Raises ValueError when ``fmt`` is ``chat`` and the tokenizer has no template.
    """
    if fmt is PromptFormat.CHAT and not has_chat_template(tokenizer):
        raise ValueError(
            "prompt_format='chat' but the tokenizer has no chat_template; "
            "use prompt_format='auto' or 'raw', or give the tokenizer a template"
        )
    return fmt is PromptFormat.CHAT or (fmt is PromptFormat.AUTO and has_chat_template(tokenizer))


def render_prompt(tokenizer: Any, prompt: Prompt, fmt: PromptFormat) -> str:
    """The prompt as text: through the chat template (with the generation prompt) or raw."""
    if uses_chat_template(tokenizer, fmt):
        messages = [{"role": "user", "content": prompt}] if isinstance(prompt, str) else prompt
        return tokenizer.apply_chat_template(
            [dict(m) for m in messages], tokenize=False, add_generation_prompt=True
        )
    if isinstance(prompt, str):
        return prompt
    return "\n".join(m["content"] for m in prompt)


def encode_prompt(tokenizer: Any, prompt: Prompt, fmt: PromptFormat) -> list[int]:
    """Token ids of the rendered prompt. A chat template supplies its own special tokens, so
    the tokenizer adds none then; a raw prompt gets the tokenizer's usual ones (e.g. BOS)."""
    text = render_prompt(tokenizer, prompt, fmt)
    add_special = not uses_chat_template(tokenizer, fmt)
    return list(tokenizer(text, add_special_tokens=add_special)["input_ids"])
