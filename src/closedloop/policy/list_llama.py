"""List positions: every integer of a list in a prompt knows its index in that list.

Why: the embedded base read the *family* of a rule but not its detail -- it wrote ``xs[:-1]``
for ``xs[1:]``, ``x + 4`` for ``x + 3``, ``xs[1]`` for ``xs[2]`` (reading probe 0.47-0.53). Each
of those decisions needs an output element matched with the input element at the same index
(or the same index from the end), and with rotary positions alone a 4-layer model must find
that index by counting tokens across lists of different lengths. Abacus-style embeddings
(McLeish et al., 2024, "Transformers Can Do Arithmetic with the Right Embeddings") give each
digit its place within its number; here each integer token gets its place within its list,
counted from the start and from the end, as two learned embeddings added to the token's.

The positions are a pure function of the token ids (:func:`list_positions`), computed inside
the model's forward, so generation, scoring, training and ``save_pretrained`` /
``from_pretrained`` need nothing else. Only tokens of *user* turns count (the prompt's examples):
a completion's tokens get position 0, "not a list element", so a token decoded one at a time
with a KV cache sees exactly what it saw in training. Counting from the end needs the whole
list, which a user turn always has once it is in the input.

Loading: importing this module registers the model type with ``AutoModelForCausalLM`` (the
policy backends import it), so a directory written by :func:`build_list_llama` loads like any
Llama.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn
from transformers import AutoConfig, AutoModelForCausalLM, LlamaConfig
from transformers.models.llama.modeling_llama import LlamaForCausalLM, LlamaModel

MODEL_TYPE = "closedloop_list_llama"


class ListLlamaConfig(LlamaConfig):
    """A Llama config plus what :func:`list_positions` needs to read list positions from ids."""

    model_type = MODEL_TYPE

    def __init__(
        self,
        list_positions: int = 32,
        integer_token_ids: list[int] | None = None,
        open_token_ids: list[int] | None = None,
        close_token_ids: list[int] | None = None,
        user_token_id: int | None = None,
        turn_end_token_ids: list[int] | None = None,
        **kwargs: Any,
    ) -> None:
        self.list_positions = list_positions
        """Indices counted per end: ``0 .. list_positions - 2``; later ones share the last."""
        self.integer_token_ids = list(integer_token_ids or [])
        self.open_token_ids = list(open_token_ids or [])
        """Tokens whose last bracket is ``[`` (a list starts after them)."""
        self.close_token_ids = list(close_token_ids or [])
        """Tokens whose last bracket is ``]``."""
        self.user_token_id = user_token_id
        self.turn_end_token_ids = list(turn_end_token_ids or [])
        """Tokens that end a user turn (end of turn, the assistant's and the system's marks)."""
        super().__init__(**kwargs)


def token_tables(config: ListLlamaConfig, device: torch.device) -> dict[str, torch.Tensor]:
    """Per-token-id lookups: is an integer; bracket (+1 opens a list, -1 closes); turn (+1
    starts a user turn, -1 ends one)."""
    n = config.vocab_size
    is_int = torch.zeros(n, dtype=torch.long)
    is_int[config.integer_token_ids] = 1
    bracket = torch.zeros(n, dtype=torch.long)
    bracket[config.open_token_ids] = 1
    bracket[config.close_token_ids] = -1
    turn = torch.zeros(n, dtype=torch.long)
    turn[config.turn_end_token_ids] = -1
    if config.user_token_id is not None:
        turn[config.user_token_id] = 1
    return {k: v.to(device) for k, v in {"int": is_int, "br": bracket, "turn": turn}.items()}


def list_positions(
    ids: torch.Tensor, tables: dict[str, torch.Tensor], size: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """``(from_start, from_end)``, each ``ids``-shaped: ``0`` for a token that is not an integer
    of a list in a user turn, else ``1 + index`` (counted from that end, capped at
    ``size - 1``). Vectorised: cumulative maxima find each token's list, cumulative sums count."""
    batch, width = ids.shape
    is_int, br, turn = tables["int"][ids], tables["br"][ids], tables["turn"][ids]
    pos = torch.arange(width, device=ids.device).expand(batch, width)
    none = torch.full_like(pos, -1)
    last_turn = torch.where(turn != 0, pos, none).cummax(dim=1).values
    last_br = torch.where(br != 0, pos, none).cummax(dim=1).values
    in_user = (last_turn >= 0) & (turn.gather(1, last_turn.clamp(min=0)) == 1)
    opened = (last_br > last_turn) & (br.gather(1, last_br.clamp(min=0)) == 1)
    member = in_user & opened & (is_int == 1)
    counted = is_int.cumsum(dim=1)
    before = counted.gather(1, last_br.clamp(min=0))
    index = counted - before - 1
    stop = (br != 0) | (turn != 0)
    # first stop at or after each token: a reversed cumulative minimum
    nxt = torch.where(stop, pos, torch.full_like(pos, width)).flip(1).cummin(dim=1).values.flip(1)
    upto = counted.gather(1, (nxt - 1).clamp(min=0, max=width - 1))
    from_end = upto - before - 1 - index
    cap = size - 1
    start = torch.where(member, index.clamp(0, cap - 1) + 1, 0)
    end = torch.where(member, from_end.clamp(0, cap - 1) + 1, 0)
    return start, end


class ListLlamaModel(LlamaModel):
    """``LlamaModel`` whose input embeddings add the list positions of each integer token."""

    config_class = ListLlamaConfig

    def __init__(self, config: ListLlamaConfig) -> None:
        super().__init__(config)
        self.list_from_start = nn.Embedding(config.list_positions, config.hidden_size)
        self.list_from_end = nn.Embedding(config.list_positions, config.hidden_size)
        for emb in (self.list_from_start, self.list_from_end):
            nn.init.normal_(emb.weight, std=config.initializer_range)
        self._tables: dict[str, torch.Tensor] | None = None

    def embed(self, input_ids: torch.Tensor) -> torch.Tensor:
        """Token embeddings plus list-position embeddings."""
        if self._tables is None or self._tables["int"].device != input_ids.device:
            self._tables = token_tables(self.config, input_ids.device)
        start, end = list_positions(input_ids, self._tables, self.config.list_positions)
        return self.embed_tokens(input_ids) + self.list_from_start(start) + self.list_from_end(end)

    def forward(
        self,
        input_ids: torch.LongTensor | None = None,
        attention_mask: torch.Tensor | None = None,
        position_ids: torch.LongTensor | None = None,
        cache: Any = None,
        inputs_embeds: torch.Tensor | None = None,
        use_cache: bool | None = None,
        **kwargs: Any,
    ) -> Any:
        if input_ids is not None and inputs_embeds is None:
            inputs_embeds, input_ids = self.embed(input_ids), None
        return super().forward(
            input_ids=input_ids,
            attention_mask=attention_mask,
            position_ids=position_ids,
            cache=cache,
            inputs_embeds=inputs_embeds,
            use_cache=use_cache,
            **kwargs,
        )


class ListLlamaForCausalLM(LlamaForCausalLM):
    """``LlamaForCausalLM`` over :class:`ListLlamaModel`."""

    config_class = ListLlamaConfig

    def __init__(self, config: ListLlamaConfig) -> None:
        super().__init__(config)
        self.model = ListLlamaModel(config)
        self.post_init()


def list_config_fields(tokenizer: Any) -> dict[str, Any]:
    """The token-id fields of :class:`ListLlamaConfig` for the embedded ``tokenizer``."""
    vocab = tokenizer.get_vocab()
    ints, opens, closes = [], [], []
    for token, i in vocab.items():
        text = tokenizer.convert_tokens_to_string([token])
        if text.isdigit() and len(text) <= 3:
            ints.append(i)
        last = max(text.rfind("["), text.rfind("]"))
        if last >= 0:
            (opens if text[last] == "[" else closes).append(i)
    ends = [tokenizer.convert_tokens_to_ids(t) for t in ("<|end|>", "<|assistant|>", "<|system|>")]
    return {
        "integer_token_ids": sorted(ints),
        "open_token_ids": sorted(opens),
        "close_token_ids": sorted(closes),
        "user_token_id": tokenizer.convert_tokens_to_ids("<|user|>"),
        "turn_end_token_ids": ends,
    }


AutoConfig.register(MODEL_TYPE, ListLlamaConfig, exist_ok=True)
AutoModelForCausalLM.register(ListLlamaConfig, ListLlamaForCausalLM, exist_ok=True)
