"""Program variety: how many different programs a policy writes across a set of tasks.

A policy that reads the examples writes as many programs as the tasks need; one that has
stopped reading answers most tasks with a few favourites. On the embedded preset that
collapse is what raised held-out pass@1 (a near-identity favourite fits one reasoning-gym
family) while the policy solved none of ``benchmarks/reading_probe.py``'s tasks: greedy, on
the 200 held-out tasks, 38 distinct programs at the cold start, 19 after nine iterations,
the most common one written for 18% and then 49% of the tasks.

Measure it on greedy attempts over a fixed task set (the held-out evaluation): sampled
attempts hide it, their variety rose over the same run (77 to 105 distinct of 144) while the
greedy mode collapsed.
"""

from __future__ import annotations

import ast
import warnings
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from closedloop.monitor.names import Metric
from closedloop.tasks.fingerprint import Fingerprint, diversity


@dataclass(frozen=True)
class ProgramVariety:
    """Variety of ``n`` programs: how many differ, and the share of the most common one."""

    n: int
    distinct: int
    top_share: float

    def metrics(self) -> dict[Metric, float]:
        """``heldout_distinct_programs`` and ``heldout_top_program_share`` (empty when n is 0):
        the run measures variety on its greedy held-out evaluations only."""
        if not self.n:
            return {}
        return {
            Metric.HELDOUT_DISTINCT_PROGRAMS: float(self.distinct),
            Metric.HELDOUT_TOP_PROGRAM_SHARE: self.top_share,
        }


class _Canonical(ast.NodeTransformer):
    """Drop what a program does not compute with (docstrings, constant expression statements,
    ``pass`` beside other statements) and name what it binds by order of first binding, so
    that comments, layout, parentheses, docstrings and the choice of names do not make two
    programs different. Names it only reads (builtins, modules) and attributes keep theirs."""

    def __init__(self, bound: dict[str, str]) -> None:
        self.bound = bound

    def _name(self, name: str) -> str:
        return self.bound.get(name, name)

    def visit_Name(self, node: ast.Name) -> ast.AST:
        return ast.Name(id=self._name(node.id), ctx=node.ctx)

    def visit_arg(self, node: ast.arg) -> ast.AST:
        return ast.arg(arg=self._name(node.arg))

    def generic_visit(self, node: ast.AST) -> ast.AST:
        super().generic_visit(node)
        for field in ("body", "orelse", "finalbody"):
            stmts = getattr(node, field, None)
            if isinstance(stmts, list) and stmts and isinstance(stmts[0], ast.stmt):
                kept = [x for x in stmts if not _inert(x)]
                setattr(node, field, kept or [ast.Pass()])
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            node.name = self._name(node.name)
        return node


def _inert(stmt: ast.stmt) -> bool:
    return isinstance(stmt, ast.Pass) or (
        isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant)
    )


def _bound_names(tree: ast.AST) -> dict[str, str]:
    names: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store | ast.Del):
            names.append(node.id)
        elif isinstance(node, ast.arg):
            names.append(node.arg)
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.append(node.name)
    return {n: f"_{i}" for i, n in enumerate(dict.fromkeys(names))}


def program_key(code: str) -> str:
    """What makes two programs the same program here: their syntax trees once comments,
    layout, docstrings, inert statements and the names they bind are set aside (the text with
    its whitespace collapsed, for one that does not parse).

    >>> a = "def f(xs):\\n    # reverse it\\n    return (xs[::-1])"
    >>> b = 'def f(a):\\n    "Reversed."\\n    return a[::-1]  # task 7'
    >>> program_key(a) == program_key(b)
    True
    >>> program_key("def f(xs): return sorted(xs)") == program_key("def f(xs): return min(xs)")
    False
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            tree = ast.parse(code)
        tree = _Canonical(_bound_names(tree)).visit(tree)
        return ast.dump(tree, annotate_fields=False)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return " ".join(code.split())


def program_variety(codes: Iterable[str]) -> ProgramVariety:
    """Variety of ``codes``: programs with the same :func:`program_key` are the same program
    (comments, layout, docstrings and the names they bind aside), and an empty attempt counts
    as one program (the empty one).

    >>> program_variety(["return xs", "return  xs", "return xs[::-1]"])
    ProgramVariety(n=3, distinct=2, top_share=0.6666666666666666)
    """
    keys: dict[str, str] = {}  # programs equal but for whitespace: one key, parsed once
    counts: Counter[str] = Counter()
    for c in codes:
        text = " ".join(c.split())
        if text not in keys:
            keys[text] = program_key(c)
        counts[keys[text]] += 1
    n = sum(counts.values())
    return ProgramVariety(n, len(counts), max(counts.values()) / n if n else 0.0)


def narrowing_line(
    set_name: str, first: Mapping[str, float], last: Mapping[str, float]
) -> str | None:
    """One line comparing the greedy-program variety of the first and last evaluations (metrics
    rows holding ``heldout_distinct_programs`` / ``heldout_top_program_share``), or None when
    either lacks them. It states the figures and no verdict: how much narrowing is too much
    depends on the task set, and a held-out gain that comes with it deserves a reading probe."""
    distinct, top = Metric.HELDOUT_DISTINCT_PROGRAMS, Metric.HELDOUT_TOP_PROGRAM_SHARE
    if not all(k in first and k in last for k in (distinct, top)):
        return None
    d0, s0 = int(first[distinct]), first[top]
    d1, s1 = int(last[distinct]), last[top]
    return (
        f"greedy programs on {set_name}: cold start {d0} distinct (the most common written for "
        f"{s0:.0%} of tasks), final {d1} distinct ({s1:.0%})"
    )


def proposal_clusters(fps: Sequence[Fingerprint]) -> dict[Metric, float]:
    """How the challenger's built proposals of one iteration cluster, from their fingerprints:
    ``proposals_built``, ``proposal_clusters`` (near-duplicate clusters: the same outputs on
    shared probe inputs, or nearly the same syntax tree) and ``proposal_top_cluster_share``
    (the largest cluster's share; 1.0 when the challenger proposes one function over and over).
    Empty when there are no proposals."""
    if not fps:
        return {}
    report = diversity(fps)
    return {
        Metric.PROPOSALS_BUILT: float(len(fps)),
        Metric.PROPOSAL_CLUSTERS: float(report.clusters),
        Metric.PROPOSAL_TOP_CLUSTER_SHARE: report.largest_cluster_share,
    }


def group_outcomes(rewards: Sequence[Sequence[float]]) -> dict[Metric, float]:
    """Shares of attempt groups (one per task) that every attempt solved
    (``solved_group_share``) and that mixed passes and failures (``learnable_share``: the only
    groups whose GRPO advantages are not all zero). Empty when there are no groups.

    >>> shares = group_outcomes([[1.0, 1.0], [0.0, 1.0], [0.0, 0.0], [1.0, 1.0]])
    >>> {str(k): v for k, v in shares.items()}
    {'solved_group_share': 0.5, 'learnable_share': 0.25}
    """
    groups = [g for g in rewards if g]
    if not groups:
        return {}
    solved = sum(1 for g in groups if min(g) >= 1.0)
    mixed = sum(1 for g in groups if max(g) > min(g))
    return {
        Metric.SOLVED_GROUP_SHARE: solved / len(groups),
        Metric.LEARNABLE_SHARE: mixed / len(groups),
    }
