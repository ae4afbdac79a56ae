"""Mutation testing of example solutions: small syntactic changes, made on the syntax tree.

A task's tests are only as good as the wrong programs they reject. We generate *mutants* of
the example solution (one change each) and count how many the tests kill; the share killed
is the task's **mutation score**, stored with the task as the strength of its verifier.

Operators (after the classic mutation-testing set, e.g. Offutt et al. 1996, reduced to what
is cheap and meaningful for short functions):

- ``arithmetic``: ``+ <-> -``, ``* -> /``/``//``, ``// <-> /``, ``% -> //``, ``** -> *``,
  bit operators swapped, ``+= <-> -=`` ...
- ``comparison``: ``< <-> <=``, ``> <-> >=``, ``== <-> !=``, ``in <-> not in``, ``is <-> is not``
- ``boolean``: ``and <-> or``, ``not x -> x``
- ``constant``: integers ``n -> n + 1`` (and ``1 -> 0``), floats ``+ 1.0``, ``True <-> False``,
  non-empty strings emptied, the empty string made ``"x"`` (docstrings are left alone)
- ``off_by_one``: slice bounds and ``range`` arguments shifted by one
- ``drop_statement``: one statement removed (replaced by ``pass`` when it was alone)

The code is only parsed and unparsed here (``ast``), never run: mutants are verified in the
sandbox like any candidate. Departures from full mutation testing: no equivalent-mutant
detection (an equivalent mutant lowers the score; we accept that bias), and comments and
formatting are lost in ``ast.unparse`` output.
"""

from __future__ import annotations

import ast
import copy
import random
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from closedloop.tasks.literals import parse_code


class MutationOperator(StrEnum):
    """The kind of change a mutant makes."""

    ARITHMETIC = "arithmetic"
    COMPARISON = "comparison"
    BOOLEAN = "boolean"
    CONSTANT = "constant"
    OFF_BY_ONE = "off_by_one"
    DROP_STATEMENT = "drop_statement"


@dataclass(frozen=True)
class Mutant:
    """One mutant: which operator, where (line in the original), and its full source."""

    operator: MutationOperator
    line: int
    description: str
    source: str


_BINOP_SWAPS: dict[type, tuple[type, ...]] = {
    ast.Add: (ast.Sub,),
    ast.Sub: (ast.Add,),
    ast.Mult: (ast.FloorDiv, ast.Add),
    ast.Div: (ast.Mult, ast.FloorDiv),
    ast.FloorDiv: (ast.Div, ast.Mult),
    ast.Mod: (ast.FloorDiv,),
    ast.Pow: (ast.Mult,),
    ast.BitAnd: (ast.BitOr,),
    ast.BitOr: (ast.BitAnd,),
    ast.BitXor: (ast.BitOr,),
    ast.LShift: (ast.RShift,),
    ast.RShift: (ast.LShift,),
}
_CMP_SWAPS: dict[type, tuple[type, ...]] = {
    ast.Lt: (ast.LtE, ast.Gt),
    ast.LtE: (ast.Lt,),
    ast.Gt: (ast.GtE, ast.Lt),
    ast.GtE: (ast.Gt,),
    ast.Eq: (ast.NotEq,),
    ast.NotEq: (ast.Eq,),
    ast.In: (ast.NotIn,),
    ast.NotIn: (ast.In,),
    ast.Is: (ast.IsNot,),
    ast.IsNot: (ast.Is,),
}

# An edit takes the (copied) node and returns its replacement.
Edit = Callable[[ast.AST], ast.AST]


@dataclass(frozen=True)
class _Site:
    path: tuple[int, ...]  # index of the node in a pre-order walk of the tree
    operator: MutationOperator
    line: int
    description: str
    edit: Edit


def _docstring_ids(tree: ast.AST) -> set[int]:
    ids = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                ids.add(id(body[0]))
                ids.add(id(body[0].value))
        if isinstance(node, ast.JoinedStr):  # f-string pieces are not ordinary constants
            ids.update(id(v) for v in ast.walk(node) if isinstance(v, ast.Constant))
    return ids


def _shift(node: ast.expr, delta: int) -> ast.expr:
    if isinstance(node, ast.Constant) and type(node.value) is int:
        return ast.Constant(node.value + delta)
    op = ast.Add() if delta > 0 else ast.Sub()
    return ast.BinOp(left=node, op=op, right=ast.Constant(abs(delta)))


def _sites(tree: ast.AST) -> list[_Site]:
    docs = _docstring_ids(tree)
    sites: list[_Site] = []
    for i, node in enumerate(ast.walk(tree)):
        line = getattr(node, "lineno", 0)

        def add(op: MutationOperator, desc: str, edit: Edit, i: int = i, line: int = line) -> None:
            sites.append(_Site((i,), op, line, desc, edit))

        if isinstance(node, ast.BinOp | ast.AugAssign):
            for new in _BINOP_SWAPS.get(type(node.op), ()):
                add(
                    MutationOperator.ARITHMETIC,
                    f"{type(node.op).__name__} -> {new.__name__}",
                    lambda n, new=new: _replace_field(n, "op", new()),
                )
        elif isinstance(node, ast.Compare):
            for k, cmp in enumerate(node.ops):
                for new in _CMP_SWAPS.get(type(cmp), ()):
                    add(
                        MutationOperator.COMPARISON,
                        f"{type(cmp).__name__} -> {new.__name__}",
                        lambda n, k=k, new=new: _replace_op(n, k, new()),
                    )
        elif isinstance(node, ast.BoolOp):
            new = ast.Or if isinstance(node.op, ast.And) else ast.And
            add(
                MutationOperator.BOOLEAN,
                f"-> {new.__name__}",
                lambda n, new=new: _replace_field(n, "op", new()),
            )
        elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
            add(MutationOperator.BOOLEAN, "drop not", lambda n: n.operand)
        elif isinstance(node, ast.Constant) and id(node) not in docs:
            v = node.value
            if isinstance(v, bool):
                add(
                    MutationOperator.CONSTANT,
                    f"{v} -> {not v}",
                    lambda n: ast.Constant(not n.value),
                )
            elif isinstance(v, int):
                add(
                    MutationOperator.CONSTANT,
                    f"{v} -> {v + 1}",
                    lambda n: ast.Constant(n.value + 1),
                )
                if v == 1:
                    add(MutationOperator.CONSTANT, "1 -> 0", lambda n: ast.Constant(0))
            elif isinstance(v, float):
                add(
                    MutationOperator.CONSTANT,
                    f"{v} -> {v + 1.0}",
                    lambda n: ast.Constant(n.value + 1.0),
                )
            elif isinstance(v, str):
                new_s = "" if v else "x"
                add(
                    MutationOperator.CONSTANT,
                    f"{v[:10]!r} -> {new_s!r}",
                    lambda n, s=new_s: ast.Constant(s),
                )
        elif isinstance(node, ast.Slice):
            for field in ("lower", "upper"):
                if getattr(node, field) is not None:
                    for d in (1, -1):
                        add(
                            MutationOperator.OFF_BY_ONE,
                            f"slice {field} {d:+d}",
                            lambda n, f=field, d=d: _replace_field(n, f, _shift(getattr(n, f), d)),
                        )
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id == "range"
            and 1 <= len(node.args) <= 3
            and not node.keywords
        ):
            for k in range(min(len(node.args), 2)):
                for d in (1, -1):
                    add(
                        MutationOperator.OFF_BY_ONE,
                        f"range arg {k} {d:+d}",
                        lambda n, k=k, d=d: _replace_arg(n, k, d),
                    )
        # statements: drop one from any body (never a docstring, a def, or an import)
        for field in ("body", "orelse", "finalbody"):
            body = getattr(node, field, None)
            if not isinstance(body, list):
                continue
            for k, stmt in enumerate(body):
                if (
                    isinstance(stmt, ast.stmt)
                    and id(stmt) not in docs
                    and not isinstance(
                        stmt,
                        ast.FunctionDef
                        | ast.AsyncFunctionDef
                        | ast.ClassDef
                        | ast.Import
                        | ast.ImportFrom
                        | ast.Pass,
                    )
                ):
                    add(
                        MutationOperator.DROP_STATEMENT,
                        f"drop {type(stmt).__name__} at line {stmt.lineno}",
                        lambda n, f=field, k=k: _drop(n, f, k),
                        line=stmt.lineno,
                    )
    sites.sort(key=lambda s: s.line)
    return sites


def _replace_field(node: ast.AST, field: str, value: ast.AST) -> ast.AST:
    setattr(node, field, value)
    return node


def _replace_op(node: ast.Compare, k: int, op: ast.cmpop) -> ast.AST:
    node.ops[k] = op
    return node


def _replace_arg(node: ast.Call, k: int, d: int) -> ast.AST:
    if len(node.args) == 1 and k == 0:
        node.args[0] = _shift(node.args[0], d)
    else:
        node.args[k] = _shift(node.args[k], d)
    return node


def _drop(node: ast.AST, field: str, k: int) -> ast.AST:
    body = getattr(node, field)
    del body[k]
    if not body and field == "body":
        body.append(ast.Pass())
    return node


def _apply(tree: ast.AST, site: _Site) -> str | None:
    clone = copy.deepcopy(tree)
    nodes = list(ast.walk(clone))
    target = nodes[site.path[0]]
    replacement = site.edit(target)
    if replacement is not target:
        # splice the replacement in where the target was
        for parent in nodes:
            for field, value in ast.iter_fields(parent):
                if value is target:
                    setattr(parent, field, replacement)
                elif isinstance(value, list):
                    for j, item in enumerate(value):
                        if item is target:
                            value[j] = replacement
    ast.fix_missing_locations(clone)
    try:
        return ast.unparse(clone)
    except (ValueError, AttributeError, RecursionError):
        return None


def generate_mutants(source: str, max_mutants: int | None = 30, seed: int = 0) -> list[Mutant]:
    """Mutants of ``source``, one change each, distinct from the original and each other.

    When there are more than ``max_mutants`` sites, a sample seeded by ``seed`` is taken
    (kept in source order). Returns [] for code that does not parse.
    """
    try:
        tree = parse_code(source)
    except (SyntaxError, ValueError, RecursionError):
        return []
    original = ast.unparse(tree)
    sites = _sites(tree)
    if max_mutants is not None and len(sites) > max_mutants:
        # oversample to make up for no-op mutants, keep source order
        keep = sorted(
            random.Random(seed).sample(range(len(sites)), min(len(sites), max_mutants * 2))
        )
        sites = [sites[k] for k in keep]
    seen = {original}
    out: list[Mutant] = []
    for site in sites:
        text = _apply(tree, site)
        if text is None or text in seen:
            continue
        try:
            parse_code(text)  # a syntax check only: nothing is executed
        except (SyntaxError, ValueError):
            continue
        seen.add(text)
        out.append(Mutant(site.operator, site.line, site.description, text))
        if max_mutants is not None and len(out) >= max_mutants:
            break
    return out
