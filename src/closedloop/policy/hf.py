"""The ``hf`` backend: a transformers causal LM on CPU or GPU, optionally with a LoRA adapter.

Prompts are rendered with the tokenizer's chat template when it has one (``PromptFormat.AUTO``),
batched with left padding, and sampled with ``model.generate``. Returned log-probs are computed
from the raw logits of each step divided by the temperature, i.e. they are the log-probs of the
tempered but *untruncated* distribution (top-p/top-k change which tokens can be drawn, not the
reported numbers), which is what :mod:`closedloop.train.grpo` recomputes at training time.

:meth:`HFPolicy.sample_ids` samples from prompts given as token ids, with a plain KV-cached
incremental decode (one forward per step, the cache grows by one column), which on CPU is
faster than ``generate`` for the small models; the loop's roles sample through it. It does not
support top-p/top-k (the loop does not use them) and raises rather than ignore them.

Does not support stop strings: a completion ends at the tokenizer's end-of-sequence token or at
``max_new_tokens``.
"""

from __future__ import annotations

import copy
import inspect
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer, GenerationConfig

from closedloop.policy import list_llama  # noqa: F401 - registers the list-position Llama
from closedloop.policy.base import (
    BackendName,
    Completion,
    FinishReason,
    PolicyError,
    Prompt,
    SamplingParams,
)
from closedloop.policy.logprobs import completion_logprobs, make_batch
from closedloop.policy.render import (
    PromptFormat,
    encode_prompt,
    render_prompt,
    uses_chat_template,
)


@dataclass(frozen=True)
class LoraSettings:
    """A LoRA adapter added through PEFT; the base weights stay frozen."""

    r: int = 8
    """Adapter rank."""
    alpha: int = 16
    """Scaling numerator (the update is scaled by alpha / r)."""
    dropout: float = 0.0
    """Dropout on the adapter's input."""
    target_modules: tuple[str, ...] = ("q_proj", "k_proj", "v_proj", "o_proj")
    """Names of the linear layers that get adapters (Llama-style names by default)."""


ADAPTER_DIR = "adapter"
"""In a saved policy directory with a LoRA adapter: the adapter alone (PEFT's layout), beside
the merged weights, so training can continue on the same adapter."""


def default_device() -> torch.device:
    """CUDA when present, else CPU."""
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


class HFPolicy:
    """A transformers model and its tokenizer, exposing the :class:`~closedloop.policy.Policy` API.

    ``model`` and ``tokenizer`` are public: trainers update ``model`` in place, so sampling
    after an update uses the new weights.
    """

    backend = BackendName.HF

    def __init__(
        self,
        model: Any,
        tokenizer: Any,
        prompt_format: PromptFormat = PromptFormat.AUTO,
        max_batch: int = 64,
    ) -> None:
        self.model = model
        self.tokenizer = tokenizer
        self.prompt_format = PromptFormat(prompt_format)
        self.max_batch = max_batch
        uses_chat_template(tokenizer, self.prompt_format)  # raises on 'chat' without a template
        if tokenizer.pad_token_id is None:
            tokenizer.pad_token = tokenizer.eos_token

    @classmethod
    def from_pretrained(
        cls,
        path: str | Path,
        device: str | torch.device | None = None,
        lora: LoraSettings | None = None,
        prompt_format: PromptFormat = PromptFormat.AUTO,
        dtype: torch.dtype | None = None,
        adapter: str | Path | None = None,
    ) -> HFPolicy:
        """Load a Hugging Face model directory, optionally adding a fresh LoRA adapter
        (``lora``) or loading a saved one to train further (``adapter``: a PEFT adapter
        directory, e.g. a saved policy's ``adapter/``)."""
        if lora is not None and adapter is not None:
            raise PolicyError("give lora (a fresh adapter) or adapter (a saved one), not both")
        tokenizer = AutoTokenizer.from_pretrained(str(path))
        tokenizer.padding_side = "left"
        model = AutoModelForCausalLM.from_pretrained(str(path), dtype=dtype or torch.float32)
        model.to(torch.device(device) if device is not None else default_device())
        if adapter is not None:
            from peft import PeftModel

            model = PeftModel.from_pretrained(model, str(adapter), is_trainable=True)
        if lora is not None:
            from peft import LoraConfig, get_peft_model

            config = LoraConfig(
                r=lora.r,
                lora_alpha=lora.alpha,
                lora_dropout=lora.dropout,
                target_modules=list(lora.target_modules),
                task_type="CAUSAL_LM",
            )
            model = get_peft_model(model, config)
        model.eval()
        return cls(model, tokenizer, prompt_format)

    @property
    def device(self) -> torch.device:
        """Where the model's weights live."""
        return next(self.model.parameters()).device

    @property
    def pad_id(self) -> int:
        """The padding token id."""
        return int(self.tokenizer.pad_token_id)

    @property
    def eos_id(self) -> int:
        """The end-of-sequence token id (the completion's stop token)."""
        return int(self.tokenizer.eos_token_id)

    def render(self, prompt: Prompt) -> str:
        """The prompt as the text the model sees (chat template applied when in use)."""
        return render_prompt(self.tokenizer, prompt, self.prompt_format)

    def encode_prompt(self, prompt: Prompt) -> list[int]:
        """Token ids of the rendered prompt."""
        return encode_prompt(self.tokenizer, prompt, self.prompt_format)

    def encode_completion(self, text: str, add_eos: bool = True) -> list[int]:
        """Token ids of a completion, ending with the end-of-sequence token when ``add_eos``."""
        ids = list(self.tokenizer(text, add_special_tokens=False)["input_ids"])
        return ids + [self.eos_id] if add_eos else ids

    def decode(self, ids: Sequence[int]) -> str:
        """Text of completion ids, without special tokens."""
        return self.tokenizer.decode(list(ids), skip_special_tokens=True)

    @torch.no_grad()
    def sample(
        self, prompts: Sequence[Prompt], n: int, params: SamplingParams
    ) -> list[list[Completion]]:
        """Sample ``n`` completions per prompt (batched, left-padded)."""
        if n < 1:
            raise ValueError(f"n={n}: must be >= 1")
        if params.seed is not None:
            torch.manual_seed(params.seed)
        encoded = [self.encode_prompt(p) for p in prompts]
        per_chunk = max(1, self.max_batch // n)
        out: list[list[Completion]] = []
        was_training = self.model.training
        self.model.eval()
        try:
            for start in range(0, len(encoded), per_chunk):
                out.extend(self._sample_chunk(encoded[start : start + per_chunk], n, params))
        finally:
            self.model.train(was_training)
        return out

    def _sample_chunk(
        self, prompt_ids: list[list[int]], n: int, params: SamplingParams
    ) -> list[list[Completion]]:
        batch = make_batch(prompt_ids, [[] for _ in prompt_ids], self.pad_id)
        input_ids = batch.input_ids[:, : batch.prompt_len].to(self.device)
        attention = batch.attention_mask[:, : batch.prompt_len].to(self.device)
        greedy = params.temperature == 0
        gen_config = GenerationConfig(
            max_new_tokens=params.max_new_tokens,
            do_sample=not greedy,
            temperature=None if greedy else params.temperature,
            top_p=None if greedy else params.top_p,
            top_k=None if greedy else params.top_k,
            num_return_sequences=n,
            pad_token_id=self.pad_id,
            eos_token_id=self.eos_id,
            bos_token_id=self.tokenizer.bos_token_id,
            output_logits=True,
            return_dict_in_generate=True,
        )
        gen = self.model.generate(
            input_ids=input_ids, attention_mask=attention, generation_config=gen_config
        )
        new_tokens = gen.sequences[:, batch.prompt_len :]
        logits = torch.stack(gen.logits, dim=1).float()  # (B*n, T, V), raw
        if not greedy:
            logits = logits / params.temperature
        logps = torch.log_softmax(logits, dim=-1).gather(-1, new_tokens.unsqueeze(-1)).squeeze(-1)
        results: list[list[Completion]] = [[] for _ in prompt_ids]
        for row in range(new_tokens.shape[0]):
            ids = new_tokens[row].tolist()
            stopped = self.eos_id in ids
            length = ids.index(self.eos_id) + 1 if stopped else len(ids)
            ids = ids[:length]
            results[row // n].append(
                Completion(
                    text=self.decode(ids),
                    token_ids=tuple(ids),
                    logprobs=tuple(logps[row, :length].tolist()),
                    finish_reason=FinishReason.STOP if stopped else FinishReason.LENGTH,
                    prompt_ids=tuple(prompt_ids[row // n]),
                )
            )
        return results

    def sample_ids(
        self, prompts: Sequence[Sequence[int]], n: int, params: SamplingParams
    ) -> list[list[Completion]]:
        """Sample ``n`` completions for each prompt given as token ids (see
        :meth:`~closedloop.policy.base.Policy.sample_ids`), ``max_batch`` rows at a time.

        For a given seed the draws depend on ``max_batch`` (it sets which rows share a batch)."""
        if n < 1:
            raise ValueError(f"n={n}: must be >= 1")
        if params.top_p < 1 or params.top_k > 0:
            raise PolicyError(
                f"top_p={params.top_p}, top_k={params.top_k}: sample_ids draws from the whole "
                "tempered distribution; use top_p=1.0 and top_k=0, or sample() for truncation"
            )
        if params.seed is not None:
            torch.manual_seed(params.seed)
        rows = [list(p) for p in prompts for _ in range(n)]
        out: list[Completion] = []
        for s in range(0, len(rows), self.max_batch):
            out.extend(self._decode_chunk(rows[s : s + self.max_batch], params))
        return [out[i * n : (i + 1) * n] for i in range(len(prompts))]

    def _decode_chunk(self, rows: list[list[int]], params: SamplingParams) -> list[Completion]:
        """One batch of :meth:`sample_ids`: left-pad, prefill, then decode token by token."""
        model, pad, eos, device = self.model, self.pad_id, self.eos_id, self.device
        width = max(len(r) for r in rows)
        ids = torch.full((len(rows), width), pad, dtype=torch.long)
        mask = torch.zeros((len(rows), width), dtype=torch.long)
        for i, r in enumerate(rows):
            ids[i, width - len(r) :] = torch.tensor(r)
            mask[i, width - len(r) :] = 1
        ids, mask = ids.to(device), mask.to(device)
        pos = (mask.cumsum(-1) - 1).clamp(min=0)
        was_training = model.training
        model.eval()
        tokens: list[list[int]] = [[] for _ in rows]
        logps: list[list[float]] = [[] for _ in rows]
        done = torch.zeros(len(rows), dtype=torch.bool, device=device)
        try:
            with torch.no_grad():
                res = model(input_ids=ids, attention_mask=mask, position_ids=pos, use_cache=True)
                past, logits = _cache_of(res), res.logits[:, -1, :].float()
                cache_kw = _cache_keyword(model)
                last_pos = pos[:, -1]
                for _ in range(params.max_new_tokens):
                    if params.temperature > 0:
                        lp = torch.log_softmax(logits / params.temperature, dim=-1)
                        nxt = torch.multinomial(lp.exp(), 1).squeeze(-1)
                    else:
                        lp = torch.log_softmax(logits, dim=-1)
                        nxt = lp.argmax(-1)
                    chosen = lp.gather(-1, nxt[:, None]).squeeze(-1)
                    nl, cl, dl = nxt.tolist(), chosen.tolist(), done.tolist()
                    for i in range(len(rows)):
                        if not dl[i]:
                            tokens[i].append(nl[i])
                            logps[i].append(cl[i])
                    done = done | (nxt == eos)
                    if bool(done.all()):
                        break
                    mask = torch.cat([mask, (~done).long()[:, None]], dim=1)
                    last_pos = last_pos + 1
                    res = model(
                        input_ids=torch.where(done, pad, nxt)[:, None],
                        attention_mask=mask,
                        position_ids=last_pos[:, None],
                        use_cache=True,
                        **{cache_kw: past},
                    )
                    past, logits = _cache_of(res), res.logits[:, -1, :].float()
        finally:
            model.train(was_training)
        out = []
        for r, toks, lps in zip(rows, tokens, logps, strict=True):
            stopped = bool(toks) and toks[-1] == eos
            out.append(
                Completion(
                    text=self.decode(toks),
                    token_ids=tuple(toks),
                    logprobs=tuple(lps),
                    finish_reason=FinishReason.STOP if stopped else FinishReason.LENGTH,
                    prompt_ids=tuple(r),
                )
            )
        return out

    @torch.no_grad()
    def completion_logprobs(
        self, prompts: Sequence[Prompt], completions: Sequence[str]
    ) -> list[list[float]]:
        """Per-token log-probs (temperature 1) of each completion, without an added EOS."""
        p_ids = [self.encode_prompt(p) for p in prompts]
        c_ids = [self.encode_completion(c, add_eos=False) for c in completions]
        return self.token_logprobs(p_ids, c_ids)

    @torch.no_grad()
    def token_logprobs(
        self, prompt_ids: Sequence[Sequence[int]], completion_ids: Sequence[Sequence[int]]
    ) -> list[list[float]]:
        """Per-token log-probs (temperature 1) of completion ids given prompt ids."""
        out: list[list[float]] = []
        was_training = self.model.training
        self.model.eval()
        try:
            for s in range(0, len(prompt_ids), self.max_batch):
                batch = make_batch(
                    prompt_ids[s : s + self.max_batch],
                    completion_ids[s : s + self.max_batch],
                    self.pad_id,
                ).to(self.device)
                logps, _ = completion_logprobs(self.model, batch)
                for row, ids in enumerate(completion_ids[s : s + self.max_batch]):
                    out.append(logps[row, : len(ids)].tolist())
        finally:
            self.model.train(was_training)
        return out

    def save(self, out_dir: str | Path, merge_lora: bool = True) -> Path:
        """Write a model directory; a LoRA adapter is merged into a copy and also written alone
        in ``ADAPTER_DIR`` unless ``merge_lora=False`` (then only the adapter is written,
        loadable with ``peft.AutoPeftModelForCausalLM``)."""
        path = Path(out_dir)
        path.mkdir(parents=True, exist_ok=True)
        model = self.model
        if merge_lora and hasattr(model, "merge_and_unload"):
            model.save_pretrained(str(path / ADAPTER_DIR))
            model = copy.deepcopy(model).merge_and_unload()
        model.save_pretrained(str(path))
        self.tokenizer.save_pretrained(str(path))
        return path

    @torch.no_grad()
    def load_weights(self, weights: Iterable[tuple[str, torch.Tensor]]) -> None:
        """Copy named weights (as a Hugging Face checkpoint names them) into the model in place:
        an HF model as a :class:`~closedloop.policy.engine.GenerationEngine`. Raises
        :class:`PolicyError` for a name the model does not have."""
        params = dict(self.model.named_parameters())
        for name, tensor in weights:
            target = params.get(name)
            if target is None:
                raise PolicyError(
                    f"load_weights: no parameter {name!r} in this model; the weights are of "
                    "another architecture (or a PEFT-wrapped model's names were not mapped)"
                )
            target.copy_(tensor)


def _cache_keyword(model: Any) -> str:
    """The forward keyword of the KV cache: ``cache`` from transformers 5.24 on (where
    ``past_key_values`` still works but warns on every call), ``past_key_values`` before."""
    # a PEFT wrapper's forward takes **kwargs: ask the model it wraps
    forward = model.get_base_model().forward if hasattr(model, "get_base_model") else model.forward
    return "cache" if "cache" in inspect.signature(forward).parameters else "past_key_values"


def _cache_of(output: Any) -> Any:
    """The KV cache a forward pass returned (``cache`` or, before 5.24, ``past_key_values``)."""
    cache = getattr(output, "cache", None)
    return cache if cache is not None else output.past_key_values
