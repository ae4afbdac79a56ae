"""Tasks: what the loop trains on, and the checks that make a task worth training on.

This part owns the task format (``format``), the importers of external task sets
(``importers``: HumanEval, MBPP, EvalPlus, reasoning-gym, JSONL), Code-as-Task validation
(``validate``) with mutation testing (``mutate``), answer comparison for answer tasks
(``answer``), structural fingerprints and pool diversity (``fingerprint``), the contamination
guard against held-out sets (``contamination``), the SQLite task pool (``pool``: the one task
store, which the loop keeps inside its run store) and the one curriculum that samples from it
(``curriculum``).

What it must never do:

- run untrusted code outside the sandbox: example solutions, failure cases, mutants and
  canonical solutions are all executed through ``closedloop.verify.Verifier`` only;
- ``eval`` or ``exec`` model text: literals are decoded with the wire's ``decode_plain`` (test
  inputs and outputs: what parses here is what the sandbox carries) or ``ast.literal_eval``, and
  code is only ever *parsed* here (``ast.parse``) to mutate or fingerprint it;
- import torch or transformers (this part sits on the verifier's light path).

Example::

    >>> from closedloop.tasks.answer import score_answer
    >>> from closedloop.tasks.format import parse_task
    >>> task = parse_task({"kind": "answer", "instruction": "2+2?", "answer": "4",
    ...                    "answer_match": "numeric"})
    >>> score_answer(task, " 4.0 ")
    True
"""
