"""Structural fingerprints of tasks, duplicate detection, and pool diversity figures.

A fingerprint has two halves:

- **behaviour**: a hash of what the example solution returns on shared probe inputs (probes
  depend only on the argument types, see ``probes``), so two tasks computing the same
  function get the same behaviour hash whatever their wording or code. Tasks without an
  example solution hash their own I/O pairs instead (prefix ``io:``).
- **structure**: a hash of the example solution's syntax tree with every identifier erased and
  docstrings dropped, plus a set of hashed 4-grams of node types (``shingles``) for
  near-duplicate detection by Jaccard similarity.

Two tasks are *exact duplicates* when both halves are equal, *near duplicates* when their
behaviour hashes are equal or their shingle sets overlap at least ``threshold``.

Diversity (``diversity``) clusters a pool by the near-duplicate relation (connected
components) and reports distinct fingerprints, cluster count, Shannon entropy over clusters
and the share of the largest cluster: the collapse monitor watches the last two.

Does not cover: semantic equivalence beyond the probes (two functions that agree on every
probe but differ elsewhere are called duplicates), and code renamed *and* restructured.
"""

from __future__ import annotations

import ast
import hashlib
import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from closedloop.tasks.format import Task
from closedloop.tasks.literals import canonical, parse_code
from closedloop.tasks.probes import task_probes

if TYPE_CHECKING:
    from closedloop.verify import VerificationBackend

NEAR_DUPLICATE_THRESHOLD = 0.9
_SHINGLE_N = 4


@dataclass(frozen=True)
class Fingerprint:
    """A task's fingerprint. Empty strings mean "unknown" and never match anything."""

    behaviour: str
    structure: str
    shingles: frozenset[int] = frozenset()

    @property
    def key(self) -> str:
        """The exact-duplicate key: behaviour and structure together."""
        return f"{self.behaviour}|{self.structure}"

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict (shingles as a sorted list)."""
        return {
            "behaviour": self.behaviour,
            "structure": self.structure,
            "shingles": sorted(self.shingles),
        }

    @classmethod
    def from_json(cls, obj: dict[str, Any]) -> Fingerprint:
        """The inverse of :meth:`to_json`."""
        return cls(
            obj.get("behaviour", ""), obj.get("structure", ""), frozenset(obj.get("shingles", ()))
        )


def _h(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]


class _Erase(ast.NodeTransformer):
    """Erase identifiers and docstrings; keep constants, operators and attribute names."""

    def visit_Name(self, node: ast.Name) -> ast.AST:
        return ast.copy_location(ast.Name(id="_", ctx=node.ctx), node)

    def visit_arg(self, node: ast.arg) -> ast.AST:
        return ast.copy_location(ast.arg(arg="_"), node)

    def _body(self, node: Any) -> Any:
        self.generic_visit(node)
        body = node.body
        if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
            if isinstance(body[0].value.value, str):
                node.body = body[1:] or [ast.Pass()]
        if hasattr(node, "name"):
            node.name = "_"
        return node

    visit_FunctionDef = visit_AsyncFunctionDef = visit_ClassDef = visit_Module = _body


def structure_of(code: str) -> tuple[str, frozenset[int]]:
    """The name-erased tree hash and node-type shingles of ``code`` ("" and {} if it does not parse)."""
    if not code.strip():
        return "", frozenset()
    try:
        tree = _Erase().visit(parse_code(code))
    except (SyntaxError, ValueError, RecursionError):
        return "", frozenset()
    types = [type(n).__name__ for n in ast.walk(tree) if not isinstance(n, ast.expr_context)]
    grams = {
        int(_h(" ".join(types[i : i + _SHINGLE_N])), 16) & 0xFFFFFFFF
        for i in range(max(1, len(types) - _SHINGLE_N + 1))
    }
    return _h(ast.dump(tree, annotate_fields=False)), frozenset(grams)


def behaviour_of(probes: Sequence[str], outputs: Sequence[str]) -> str:
    """The behaviour hash of outputs (value texts, or ``!error``) on probes; "" if all errored."""
    if not probes or all(o.startswith("!") for o in outputs):
        return ""
    return _h("\n".join(f"{p}->{o}" for p, o in zip(probes, outputs, strict=True)))


def _io_behaviour(task: Task) -> str:
    pairs = sorted((t.input, t.output) for t in task.public_tests + task.private_tests)
    if task.answer is not None:
        pairs.append(("answer", task.answer))
    return "io:" + _h(repr(pairs)) if pairs else ""


def probe_outputs(verifier: VerificationBackend, task: Task, probes: Sequence[str]) -> list[str]:
    """The example solution's outputs on ``probes``, run in the sandbox (``!error`` on failure)."""
    if not probes or not task.example_solution:
        return []
    results = verifier.call(
        task.example_solution, task.entry_point, inputs=list(probes), prompt=task.prompt
    )
    return [(canonical(r.value) or "!error") if r.ok else "!error" for r in results]


def _fingerprint(task: Task, probes: Sequence[str], outputs: Sequence[str]) -> Fingerprint:
    structure, shingles = structure_of(task.example_solution or "")
    behaviour = behaviour_of(probes, outputs) if outputs else ""
    return Fingerprint(behaviour or _io_behaviour(task), structure, shingles)


def fingerprint_task(
    task: Task, verifier: VerificationBackend | None = None, n_probes: int = 8
) -> Fingerprint:
    """Fingerprint one task. Without a verifier (or an example solution) the behaviour half
    comes from the task's own I/O pairs."""
    probes: list[str] = []
    outputs: list[str] = []
    if verifier is not None and task.example_solution:
        probes = task_probes(task, n_probes)
        outputs = probe_outputs(verifier, task, probes)
    return _fingerprint(task, probes, outputs)


def fingerprint_tasks(
    tasks: Sequence[Task], verifier: VerificationBackend, n_probes: int = 8
) -> list[Fingerprint]:
    """:func:`fingerprint_task` of many tasks, their probe runs in parallel on the verifier's
    slots (one job per task); a job the sandbox could not run gives that task no behaviour
    from probes (its I/O pairs stand in), as an error would."""
    from closedloop.verify import CallJob

    probes = [task_probes(t, n_probes) if t.example_solution else [] for t in tasks]
    run = [
        i for i, (t, p) in enumerate(zip(tasks, probes, strict=True)) if p and t.example_solution
    ]
    jobs = [
        CallJob(tasks[i].example_solution or "", tasks[i].entry_point, probes[i], tasks[i].prompt)
        for i in run
    ]
    outputs: list[list[str]] = [[] for _ in tasks]
    for i, results in zip(run, verifier.call_many(jobs) if jobs else [], strict=True):
        outputs[i] = [(canonical(r.value) or "!error") if r.ok else "!error" for r in results]
    return [_fingerprint(t, p, o) for t, p, o in zip(tasks, probes, outputs, strict=True)]


def jaccard(a: frozenset[int], b: frozenset[int]) -> float:
    """|a & b| / |a | b| (0.0 when both are empty)."""
    if not a and not b:
        return 0.0
    return len(a & b) / len(a | b)


def is_near_duplicate(
    a: Fingerprint, b: Fingerprint, threshold: float = NEAR_DUPLICATE_THRESHOLD
) -> bool:
    """Same behaviour (when known), or syntax trees whose shingles overlap at least ``threshold``."""
    if a.behaviour and a.behaviour == b.behaviour:
        return True
    return bool(a.shingles) and jaccard(a.shingles, b.shingles) >= threshold


def clusters(fps: Sequence[Fingerprint], threshold: float = NEAR_DUPLICATE_THRESHOLD) -> list[int]:
    """A cluster label per fingerprint: connected components of the near-duplicate relation.

    Cost: one pass over behaviour hashes, then pairwise Jaccard over *distinct* structures,
    pruned by size (|a|/|b| < threshold cannot reach it).
    """
    parent = list(range(len(fps)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    def union(i: int, j: int) -> None:
        ri, rj = find(i), find(j)
        if ri != rj:
            parent[max(ri, rj)] = min(ri, rj)

    first: dict[str, int] = {}
    for i, fp in enumerate(fps):
        for key in (fp.behaviour, "s" + fp.structure if fp.structure else ""):
            if key:
                if key in first:
                    union(i, first[key])
                else:
                    first[key] = i
    reps = sorted(
        (
            (len(fps[i].shingles), i)
            for k, i in first.items()
            if k.startswith("s") and fps[i].shingles
        ),
    )
    for x, (size_a, i) in enumerate(reps):
        for size_b, j in reps[x + 1 :]:
            if size_a < threshold * size_b:
                break
            if jaccard(fps[i].shingles, fps[j].shingles) >= threshold:
                union(i, j)
    return [find(i) for i in range(len(fps))]


@dataclass(frozen=True)
class DiversityReport:
    """Diversity of a pool of tasks (the collapse monitor's inputs)."""

    tasks: int
    distinct: int  # distinct exact fingerprints
    clusters: int  # near-duplicate clusters
    entropy_bits: float  # Shannon entropy of the cluster-size distribution
    normalized_entropy: float  # entropy / log2(tasks): 1.0 when every task is its own cluster
    largest_cluster_share: float  # share of tasks in the biggest cluster (1.0 = total collapse)

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return dict(self.__dict__)


def diversity(
    fps: Sequence[Fingerprint], threshold: float = NEAR_DUPLICATE_THRESHOLD
) -> DiversityReport:
    """Diversity figures of a pool of fingerprints."""
    n = len(fps)
    if n == 0:
        return DiversityReport(0, 0, 0, 0.0, 0.0, 0.0)
    sizes = Counter(clusters(fps, threshold)).values()
    entropy = -sum((s / n) * math.log2(s / n) for s in sizes)
    return DiversityReport(
        tasks=n,
        distinct=len({fp.key for fp in fps}),
        clusters=len(sizes),
        entropy_bits=entropy,
        normalized_entropy=entropy / math.log2(n) if n > 1 else 1.0,
        largest_cluster_share=max(sizes) / n,
    )


def find_duplicates(
    new: Sequence[tuple[str, Fingerprint]],
    existing: Sequence[tuple[str, Fingerprint]],
    threshold: float = NEAR_DUPLICATE_THRESHOLD,
) -> dict[str, str]:
    """For each new task id that near-duplicates an existing one (or an earlier new one), the
    id it duplicates."""
    out: dict[str, str] = {}
    seen: list[tuple[str, Fingerprint]] = list(existing)
    for tid, fp in new:
        for other_id, other in seen:
            if is_near_duplicate(fp, other, threshold):
                out[tid] = other_id
                break
        else:
            seen.append((tid, fp))
    return out
