"""What a checker asserts its function returns: (input, expected output) pairs read from
its code, never by running it.

Checker calls (:func:`checker_calls`) are read by folding constant expressions of literals
(``2.0/3.0``, ``[0] * 5``, ``zip(xs, ys)``) with Python's operators and a few pure builtins
applied to decoded values, within size and step bounds; that is arithmetic on data, never the
checker's code. A checker the challenger wrote is read too (the contamination guard reads
every task's), so every bound holds against a hostile one: the values folded are weighed
whole, the work is counted, and a call whose value is out of bounds is one with no expected
value.

Does not cover: calls with keyword arguments or arguments computed by code (random inputs, a
helper's result, values built by comprehensions, ``math`` functions); comparisons of part of a
result (``candidate(x)[0]``, ``len(...)``); ``if candidate(x) != y: raise``; helper functions
the checker defines to compare (EvalPlus's ``assertion(out, exp, atol)``).
"""

from __future__ import annotations

import ast
import operator
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from closedloop.sandbox.wire import bounded_dict, bounded_set
from closedloop.tasks.literals import literal_text, parse_code


@dataclass(frozen=True)
class CheckerCall:
    """A call found in a checker: its argument tuple's text and, where the checker asserts
    what it returns, the expected value's text (``output``).

    ``alternatives``: other values the checker accepts as well (``f(x) in (a, b)``;
    ``str(f(x)) == '5.5'`` is 5.5 or ``'5.5'``). ``tolerance``: ``(abs, rel)`` when the
    checker compares approximately (``abs(f(x) - y) < eps``, ``isclose``, ``round(f(x), 2)
    == y``, ``assertAlmostEqual``...): what the function returns is within ``abs + rel *
    |y|`` of ``output`` (number by number in a list), not equal to it."""

    input: str
    output: str | None = None
    alternatives: tuple[str, ...] = ()
    tolerance: tuple[float, float] | None = None


def checker_calls(checker: str, names: Iterable[str] = ("candidate",)) -> list[CheckerCall]:
    """The calls to any of ``names`` in ``checker`` whose arguments are literal values, in
    source order, one per input (the first that says what it returns), with what the
    checker asserts they return where it says so.

    Arguments and expected values are constant-folded from literals (``1/3``, ``[0] * 5``,
    ``(3 + 5, 3 * 5)``), from names bound to such values (``expected = {...}``), and through
    ``for`` loops and comprehensions over literal tables (``for x, y in [(1, 2), (3, 4)]``,
    ``zip(inputs, outputs)``), each iteration unrolled; a result may be bound to a name first
    (``r = candidate(x); assert r == y``). The forms read are listed in
    :meth:`_Reader.claim` and :meth:`_Reader.assert_call`. Nothing is executed: folding
    applies Python's own operators and a few pure builtins to decoded literals, refusing
    anything too big (:data:`_MAX_SIZE`, :data:`_MAX_INT_BITS`); the read stops at its work
    bound (:data:`_MAX_STEPS` beyond a few steps a node), keeping what it found."""
    try:
        tree = parse_code(checker)
    except (SyntaxError, ValueError, RecursionError, MemoryError):  # 3,000 nested `not`s
        return []
    reader = _Reader(tree, frozenset(names))
    try:
        reader.module(tree)
    except Exception:  # noqa: BLE001 - hostile text: out of budget, or any failure of the
        pass  # reader's own (LookupError of a codec's name...) ends the reading, keeping what it read
    return list(reader.found.values())


_MAX_STEPS = 50_000
"""Work bound of reading one checker, beyond reading each of its syntax nodes a few times
(:data:`_STEPS_PER_NODE`): nodes visited and values folded, unrolled loops included."""
_STEPS_PER_NODE = 4
"""Reading a checker of plain asserts takes under two steps a node: a long checker is read
to its end; the loops it unrolls and the values it folds share :data:`_MAX_STEPS`."""
_MAX_SIZE = 10_000
"""The longest string, list, ... folding builds (``'a' * 10**9`` is refused, not built)."""
_MAX_INT_BITS = 4_096
"""The largest integer folding builds (``10**10**10`` is refused, not computed)."""
_MAX_ROUND_DIGITS = 400
"""``round``'s digits, either sign: an integer rounded to -n digits costs a power of ten
of n digits (``round(5, -10**6)`` took half a second)."""
_MAX_LOOP = 1_000
"""The most iterations of a literal ``for`` loop (or comprehension) unrolled."""
_MAX_ALTERNATIVES = 4
"""A call whose checker accepts more values than this (``f(x) in range(100)``) says nothing."""

_WRAPPERS = frozenset(
    {"tuple", "list", "set", "frozenset", "sorted", "str", "int", "float", "round"}
)
"""Calls a checker wraps the call in (``tuple(candidate(x)) == y``): the value compared is
the one inside; ``round`` makes the comparison approximate, ``str`` makes a string stand for
the value it spells."""

_ABS = frozenset({"abs", "fabs", "absolute"})
_CLOSE = frozenset({"isclose", "allclose"})
_EQUAL_ASSERTS = frozenset(
    {
        "assertEqual",
        "assertEquals",
        "failUnlessEqual",
        "assertIs",
        "assertListEqual",
        "assertTupleEqual",
        "assertDictEqual",
        "assertSetEqual",
        "assertSequenceEqual",
        "assert_equal",
        "assert_array_equal",
    }
)
_TRUE_ASSERTS = frozenset({"assertTrue", "assert_", "failUnless"})
_FALSE_ASSERTS = frozenset({"assertFalse", "failIf"})
_NONE_ASSERTS = frozenset({"assertIsNone"})
_ALMOST_ASSERTS = frozenset(
    {"assertAlmostEqual", "assertAlmostEquals", "assert_almost_equal", "assert_allclose"}
)

_READ_ONLY_METHODS = frozenset({"items", "keys", "values", "get", "count", "index", "copy"})
"""Methods that do not change the value they are called on (any other call of a name's
method makes the name unknown: ``xs.sort()``)."""

_Tolerance = tuple[float, float]


class _Refused(Exception):
    """An expression that is not folded: not made of literals, or too big."""


class _OutOfBudget(Exception):
    """The checker took more than :data:`_MAX_STEPS` steps to read."""


_FOLD_ERRORS = (
    ArithmeticError,
    ValueError,
    TypeError,
    LookupError,
    AttributeError,
    MemoryError,
    RecursionError,
)


@dataclass(frozen=True)
class _Result:
    """A name bound to the function's result (``r = candidate(x)``): the call's input text,
    and how the result was wrapped (``str``, ``round``'s tolerance)."""

    input: str
    is_str: bool = False
    tolerance: _Tolerance | None = None


def _func_name(func: ast.AST) -> str:
    return func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")


def _keyword(call: ast.Call, name: str, position: int | None = None) -> ast.AST | None:
    for k in call.keywords:
        if k.arg == name:
            return k.value
    if position is not None and len(call.args) > position:
        return call.args[position]
    return None


def _bindings(node: ast.AST) -> Iterable[str]:
    """Every name ``node`` binds (or deletes), each time it does."""
    for n in ast.walk(node):
        if isinstance(n, ast.Name) and not isinstance(n.ctx, ast.Load):
            yield n.id
        elif isinstance(n, ast.arg):
            yield n.arg
        elif isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            yield n.name
        elif isinstance(n, ast.Import | ast.ImportFrom):
            for a in n.names:
                yield (a.asname or a.name).split(".")[0]
        elif isinstance(n, ast.ExceptHandler) and n.name:
            yield n.name
        elif isinstance(n, ast.Global | ast.Nonlocal):
            yield from n.names
        elif isinstance(n, ast.MatchAs | ast.MatchStar) and n.name:
            yield n.name
        elif isinstance(n, ast.MatchMapping) and n.rest:
            yield n.rest


_Env = dict[str, Any]


class _Reader:
    """Reads one checker's statements in order, tracking names bound to literal values."""

    def __init__(self, tree: ast.Module, wanted: frozenset[str]) -> None:
        self.wanted = wanted
        self.steps = 0
        self.limit = _MAX_STEPS + _STEPS_PER_NODE * sum(1 for _ in ast.walk(tree))
        counts: Counter[str] = Counter(_bindings(tree))
        self.shadowed = frozenset(counts) - wanted
        """Names the checker binds: no builtin of that name is assumed (``str = ...``)."""
        self.once = frozenset(n for n, c in counts.items() if c == 1)
        self.globals: _Env = {}
        self.found: dict[str, CheckerCall] = {}

    def copy(self, env: _Env) -> _Env:
        """A copy of ``env``, charged by its size: each branch and each unrolled iteration
        copies what is known, and 4,000 names times 4,000 branches took seconds."""
        self.tick(len(env))
        return dict(env)

    def tick(self, n: int = 1) -> None:
        self.steps += n
        if self.steps > self.limit:
            raise _OutOfBudget

    # -- statements ------------------------------------------------------------------------

    def module(self, tree: ast.Module) -> None:
        # module-level names bound once, to a literal, are known inside functions (which run
        # after the module); others only from where they are bound on
        for st in tree.body:
            if (
                isinstance(st, ast.Assign)
                and len(st.targets) == 1
                and isinstance(name := st.targets[0], ast.Name)
                and name.id in self.once
            ):
                try:
                    self.globals[name.id] = self.fold(st.value, self.globals)
                except _Refused:
                    pass
        self.block(tree.body, {})

    def block(self, stmts: list[ast.stmt], env: _Env) -> None:
        for st in stmts:
            try:
                self.stmt(st, env)
            except (RecursionError, MemoryError):
                for name in set(_bindings(st)):
                    env.pop(name, None)

    def bound(self, node: ast.AST) -> set[str]:
        names = set()
        for name in _bindings(node):
            self.tick()
            names.add(name)
        return names

    def stmt(self, st: ast.stmt, env: _Env) -> None:
        self.tick()
        if isinstance(st, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            for d in st.decorator_list:
                self.visit(d, env)
            args = st.args if not isinstance(st, ast.ClassDef) else None
            params = self.bound(args) if args else set()
            inner = {k: v for k, v in self.globals.items() if k not in params}
            self.block(st.body, inner)
            env.pop(st.name, None)
        elif isinstance(st, ast.For):
            self.loop(st, env)
        elif isinstance(st, ast.Assign | ast.AnnAssign):
            if st.value is None:
                return
            self.visit(st.value, env)
            targets = st.targets if isinstance(st, ast.Assign) else [st.target]
            value: Any = self.side(st.value, env)
            if value is None:
                try:
                    value = self.fold(st.value, env)
                except _Refused:
                    value = _Refused
            for t in targets:
                self.bind(t, value, env)
        elif isinstance(st, ast.Assert):
            self.visit(st.test, env, asserted=True)
            if st.msg is not None:
                self.visit(st.msg, env)
        elif not any(
            isinstance(v, list) and v and not isinstance(v[0], ast.expr)
            for _, v in ast.iter_fields(st)
        ):
            for child in ast.iter_child_nodes(st):
                if isinstance(child, ast.expr):
                    self.visit(child, env)
            for name in self.bound(st):
                env.pop(name, None)
            for target in getattr(st, "targets", [getattr(st, "target", None)]):
                if target is not None:  # d[k] += 1, del d[k]: d is not what it was
                    self.bind(target, _Refused, env)
        else:
            self.compound(st, env)

    def compound(self, st: ast.stmt, env: _Env) -> None:
        """``if``, ``while``, ``with``, ``try``, ``match``...: each body read from what is
        known before the statement, less what the statement binds anywhere."""
        bound = self.bound(st)
        base = self.copy({k: v for k, v in env.items() if k not in bound})
        for _, value in ast.iter_fields(st):
            items = value if isinstance(value, list) else [value]
            if items and isinstance(items[0], ast.stmt):
                self.block(items, self.copy(base))
                continue
            for item in items:
                if isinstance(item, ast.expr):
                    self.visit(item, env)
                elif isinstance(item, ast.withitem):
                    self.visit(item.context_expr, env)
                elif isinstance(item, ast.ExceptHandler | ast.match_case):
                    guard = getattr(item, "guard", None) or getattr(item, "type", None)
                    if guard is not None:
                        self.visit(guard, base)
                    self.block(item.body, self.copy(base))
        for name in bound:
            env.pop(name, None)

    def loop(self, st: ast.For, env: _Env) -> None:
        self.visit(st.iter, env)
        bound = self.bound(st)
        base = self.copy({k: v for k, v in env.items() if k not in bound})
        items = self.items(st.iter, env)
        if items is None:
            self.block(st.body, self.copy(base))
        for item in items or ():
            inner = self.copy(base)
            self.bind(st.target, item, inner)
            self.block(st.body, inner)
        for name in bound:
            env.pop(name, None)
        self.block(st.orelse, env)

    def items(self, node: ast.AST, env: _Env) -> list | None:
        """The values a ``for`` over ``node`` takes, if it is a literal iterable short enough
        to unroll."""
        try:
            items = list(_iterable(self.fold(node, env)))
        except _Refused:
            return None
        return items if len(items) <= _MAX_LOOP else None

    def bind(self, target: ast.AST, value: Any, env: _Env) -> None:
        """Bind ``target`` to a folded value (``_Refused``: unknown) in ``env``."""
        if isinstance(target, ast.Name):
            if value is _Refused:
                env.pop(target.id, None)
            else:
                env[target.id] = value
            return
        if isinstance(target, ast.Tuple | ast.List) and not any(
            isinstance(e, ast.Starred) for e in target.elts
        ):
            try:
                parts = list(_iterable(value)) if value is not _Refused else None
            except _Refused:
                parts = None
            if parts is not None and len(parts) == len(target.elts):
                for t, v in zip(target.elts, parts, strict=True):
                    self.bind(t, v, env)
                return
        for name in self.bound(target):
            env.pop(name, None)
        node = target
        while isinstance(node, ast.Subscript | ast.Attribute | ast.Starred):
            node = node.value
        if isinstance(node, ast.Name):  # d[k] = v changes d
            env.pop(node.id, None)

    # -- expressions -----------------------------------------------------------------------

    def visit(self, node: ast.AST, env: _Env, asserted: bool = False) -> None:
        """Record the calls in ``node`` and what ``node`` asserts of them (when ``asserted``:
        it stands where a false value fails the check)."""
        self.tick()
        if isinstance(node, ast.Lambda):
            params = self.bound(node.args)
            self.visit(node.body, {k: v for k, v in env.items() if k not in params})
            return
        if isinstance(node, ast.ListComp | ast.SetComp | ast.GeneratorExp | ast.DictComp):
            self.comprehension(node, env, asserted)
            return
        children: set[int] = set()
        if asserted:
            if isinstance(node, ast.BoolOp) and isinstance(node.op, ast.And):
                children = {id(v) for v in node.values}
            elif isinstance(node, ast.List | ast.Tuple):
                pass
            elif (
                isinstance(node, ast.Call)
                and self.builtin(node.func) == "all"
                and len(node.args) == 1
            ):
                arg = node.args[0]
                if isinstance(arg, ast.List | ast.Tuple):
                    children = {id(e) for e in arg.elts}
                    for e in arg.elts:
                        self.visit(e, env, asserted=True)
                    return
                children = {id(arg)}
            else:
                self.claim(node, env, True)
        if isinstance(node, ast.Call):
            name = _func_name(node.func)
            if (
                isinstance(node.func, ast.Attribute)
                and isinstance(node.func.value, ast.Name)
                and name not in _READ_ONLY_METHODS
            ):
                env.pop(node.func.value.id, None)  # xs.sort(), d.update(...): changed
            if name in _TRUE_ASSERTS and node.args:
                children.add(id(node.args[0]))
            elif name in _FALSE_ASSERTS and node.args:
                self.claim(node.args[0], env, False)
            else:
                self.assert_call(node, name, env)
            if isinstance(node.func, ast.Name) and node.func.id in self.wanted:
                inp = self.input(node, env)
                if inp is not None:
                    self.found.setdefault(inp, CheckerCall(inp))
        for child in ast.iter_child_nodes(node):
            self.visit(child, env, id(child) in children)

    def comprehension(self, node: ast.AST, env: _Env, asserted: bool) -> None:
        gens = node.generators  # type: ignore[attr-defined]
        elts = [node.key, node.value] if isinstance(node, ast.DictComp) else [node.elt]  # type: ignore[attr-defined]
        self.visit(gens[0].iter, env)
        bound = set()
        for g in gens:
            bound |= self.bound(g.target)
        base = self.copy({k: v for k, v in env.items() if k not in bound})
        g = gens[0]
        items = self.items(g.iter, env) if len(gens) == 1 and not g.ifs and not g.is_async else None
        if items is None:
            for part in [*(x for g in gens for x in (g.target, *g.ifs)), *gens[1:], *elts]:
                if isinstance(part, ast.comprehension):
                    self.visit(part.iter, base)
                else:
                    self.visit(part, base)
            return
        for item in items:
            inner = self.copy(base)
            self.bind(g.target, item, inner)
            for e in elts:
                self.visit(e, inner, asserted and isinstance(node, ast.GeneratorExp | ast.ListComp))

    def builtin(self, func: ast.AST) -> str | None:
        """``func``'s name when it is a builtin the checker does not rebind."""
        if isinstance(func, ast.Name) and func.id not in self.shadowed:
            return func.id
        return None

    def input(self, call: ast.Call, env: _Env) -> str | None:
        if call.keywords:
            return None
        args: list[Any] = []
        try:
            for a in call.args:
                if isinstance(a, ast.Starred):
                    args.extend(_iterable(self.fold(a.value, env)))
                else:
                    args.append(self.fold(a, env))
        except _Refused:
            return None
        return literal_text(tuple(args))

    def side(self, node: ast.AST, env: _Env) -> _Result | None:
        """The call of the function that ``node`` compares (``candidate(x)``, a name bound
        to one, either wrapped in ``_WRAPPERS``), or None."""
        is_str, tol = False, None
        while (
            isinstance(node, ast.Call)
            and (name := self.builtin(node.func)) in _WRAPPERS
            and not node.keywords
            and node.args
        ):
            if len(node.args) == 2 and name == "round":
                try:
                    digits = self.fold(node.args[1], env)
                except _Refused:
                    return None
                if type(digits) is not int or not -300 < digits < 300:
                    return None
                tol = (0.5 * 10.0**-digits, 0.0)
            elif len(node.args) != 1:
                return None
            elif name == "round":
                tol = (0.5, 0.0)
            elif name == "str":
                is_str = True
            node = node.args[0]
        if isinstance(node, ast.Name) and isinstance(r := env.get(node.id), _Result):
            return _Result(r.input, r.is_str or is_str, r.tolerance or tol)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            if node.func.id in self.wanted:
                inp = self.input(node, env)
                return None if inp is None else _Result(inp, is_str, tol)
        return None

    def claim(self, node: ast.AST, env: _Env, truth: bool) -> None:
        """Record what ``node`` being ``truth`` says of a call: ``f(x)`` / ``not f(x)``;
        ``f(x) == y``, ``y == f(x)``, ``f(x) is y``, ``f(x) == approx(y)``; ``f(x) in (y,
        z)``; ``abs(f(x) - y) < eps`` (or ``y - f(x)``, ``math.fabs``, ``np.abs``; ``eps >
        abs(...)``); ``isclose`` / ``allclose`` in either argument order (``math``,
        ``numpy``, ``torch``)."""
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
            self.claim(node.operand, env, not truth)
            return
        side = self.side(node, env)
        if side is not None:
            self.emit(side, [truth], None)
            return
        if not truth:
            return
        if isinstance(node, ast.Compare) and len(node.ops) == 1:
            op, left, right = node.ops[0], node.left, node.comparators[0]
            if isinstance(op, ast.Eq | ast.Is):
                for a, b in ((left, right), (right, left)):
                    if (side := self.side(a, env)) is not None:
                        self.expect(side, b, env)
            elif isinstance(op, ast.In) and (side := self.side(left, env)) is not None:
                try:
                    options = self.fold(right, env)
                except _Refused:
                    return
                if isinstance(options, set | frozenset):  # in a fixed order, whatever the hash seed
                    options = sorted(options, key=repr)
                if isinstance(options, list | tuple):
                    self.emit(side, list(options), None)
            elif isinstance(op, ast.Lt | ast.LtE):
                self.near(left, right, env)
            elif isinstance(op, ast.Gt | ast.GtE):
                self.near(right, left, env)
        elif isinstance(node, ast.Call) and _func_name(node.func) in _CLOSE:
            self.close(node, env)

    def near(self, absolute: ast.AST, eps: ast.AST, env: _Env) -> None:
        """``abs(a - b) < eps``."""
        if not (
            isinstance(absolute, ast.Call)
            and _func_name(absolute.func) in _ABS
            and len(absolute.args) == 1
            and not absolute.keywords
            and isinstance(diff := absolute.args[0], ast.BinOp)
            and isinstance(diff.op, ast.Sub)
        ):
            return
        tol = self.tolerance(env, eps)
        for a, b in ((diff.left, diff.right), (diff.right, diff.left)):
            if (side := self.side(a, env)) is not None:
                self.expect(side, b, env, tol)

    def close(self, call: ast.Call, env: _Env) -> None:
        """``isclose(a, b)`` / ``allclose(a, b)``: ``math``'s defaults (``rel_tol=1e-9``)
        when it is ``math.isclose`` or takes ``rel_tol``/``abs_tol``, else NumPy's
        (``rtol=1e-5, atol=1e-8``, also positional)."""
        if len(call.args) < 2:
            return
        owner = call.func.value if isinstance(call.func, ast.Attribute) else None
        math_style = (isinstance(owner, ast.Name) and owner.id in ("math", "cmath")) or any(
            k.arg in ("rel_tol", "abs_tol") for k in call.keywords
        )
        if math_style:
            tol = self.tolerance(
                env, _keyword(call, "abs_tol"), _keyword(call, "rel_tol"), 0.0, 1e-9
            )
        else:
            tol = self.tolerance(
                env, _keyword(call, "atol", 3), _keyword(call, "rtol", 2), 1e-8, 1e-5
            )
        self.pair(call.args[0], call.args[1], env, tol)

    def pair(self, a: ast.AST, b: ast.AST, env: _Env, tol: _Tolerance | None) -> None:
        """``a`` and ``b`` asserted equal (within ``tol``), the call on either side."""
        for x, y in ((a, b), (b, a)):
            if (side := self.side(x, env)) is not None:
                self.expect(side, y, env, tol)

    def assert_call(self, call: ast.Call, name: str, env: _Env) -> None:
        """unittest's and NumPy's assertion calls: ``assertEqual(f(x), y)`` (and its typed
        kin, ``assertIs``, ``assert_equal``, ``assert_array_equal``), ``assertIsNone``,
        ``assertAlmostEqual`` (``places``, ``delta``), NumPy's ``assert_almost_equal``
        (``decimal``) and ``assert_allclose`` (``rtol``, ``atol``)."""
        if name in _EQUAL_ASSERTS and len(call.args) >= 2:
            self.pair(call.args[0], call.args[1], env, None)
        elif name in _NONE_ASSERTS and call.args:
            if (side := self.side(call.args[0], env)) is not None:
                self.emit(side, [None], None)
        elif name in _ALMOST_ASSERTS and len(call.args) >= 2:
            if name == "assert_allclose":
                tol = self.tolerance(
                    env, _keyword(call, "atol", 3), _keyword(call, "rtol", 2), 0.0, 1e-7
                )
            elif name == "assert_almost_equal":
                tol = self.digits(env, _keyword(call, "decimal", 2), 7, 1.5)
            elif (delta := _keyword(call, "delta")) is not None:
                tol = self.tolerance(env, delta)
            else:
                tol = self.digits(env, _keyword(call, "places", 2), 7, 0.5)
            self.pair(call.args[0], call.args[1], env, tol)

    def tolerance(
        self,
        env: _Env,
        absolute: ast.AST | None,
        relative: ast.AST | None = None,
        abs_default: float = 0.0,
        rel_default: float = 0.0,
    ) -> _Tolerance | None:
        """``(abs, rel)`` folded from the checker, or None when it is not a literal."""
        out = []
        for node, default in ((absolute, abs_default), (relative, rel_default)):
            try:
                value = default if node is None else self.fold(node, env)
            except _Refused:
                return None
            if type(value) not in (int, float) or not 0 <= value < 1e300:
                return None
            out.append(float(value))
        return out[0], out[1]

    def digits(self, env: _Env, node: ast.AST | None, default: int, k: float) -> _Tolerance | None:
        """``k * 10**-digits``: the tolerance of a number of decimal places."""
        try:
            digits = default if node is None else self.fold(node, env)
        except _Refused:
            return None
        if type(digits) is not int or not -300 < digits < 300:
            return None
        return k * 10.0**-digits, 0.0

    def expect(
        self, side: _Result, other: ast.AST, env: _Env, tol: _Tolerance | None = None
    ) -> None:
        """``side`` asserted equal to ``other`` (``pytest.approx(y, rel=, abs=)`` is ``y``
        within its tolerance)."""
        if (
            isinstance(other, ast.Call)
            and _func_name(other.func) == "approx"
            and len(other.args) == 1
        ):
            absolute, relative = _keyword(other, "abs"), _keyword(other, "rel")
            if relative is None and absolute is not None:
                tol = self.tolerance(env, absolute)
            else:
                tol = self.tolerance(env, absolute, relative, 1e-12, 1e-6)
            other = other.args[0]
        try:
            value = self.fold(other, env)
        except _Refused:
            return
        self.emit(side, [value], tol)

    def emit(self, side: _Result, values: list[Any], tol: _Tolerance | None) -> None:
        """Record that ``side``'s call returns one of ``values`` (within ``tol``)."""
        if tol is None or side.tolerance is None:
            tol = tol or side.tolerance
        else:  # abs(round(f(x), 2) - y) < eps
            tol = (max(tol[0], side.tolerance[0]), max(tol[1], side.tolerance[1]))
        options: list[Any] = []
        for v in values:
            if side.is_str:
                if not isinstance(v, str):
                    return  # str(f(x)) is never a non-string
                options.extend(_spelled(v))
            else:
                options.append(v)
        texts: list[str] = []
        for v in options:
            text = literal_text(v)
            if text is not None and text not in texts:
                texts.append(text)
        if not texts or len(texts) > 1 + _MAX_ALTERNATIVES:
            return
        known = self.found.get(side.input)
        if known is None or known.output is None:
            self.found[side.input] = CheckerCall(side.input, texts[0], tuple(texts[1:]), tol)

    # -- folding ---------------------------------------------------------------------------

    def fold(self, node: ast.AST, env: _Env) -> Any:
        """The value of an expression made of literals, names of ``env``, operators and
        pure builtins; raises ``_Refused`` for anything else or too big."""
        self.tick()
        try:
            value = self._fold(node, env)
        except _FOLD_ERRORS as e:
            raise _Refused from e
        _check_size(value)
        return value

    def _fold(self, node: ast.AST, env: _Env) -> Any:
        if isinstance(node, ast.Constant):
            if node.value is Ellipsis:
                raise _Refused
            return node.value
        if isinstance(node, ast.Name):
            value = env.get(node.id, _Refused)
            if value is _Refused or isinstance(value, _Result):
                raise _Refused
            return value
        if isinstance(node, ast.Tuple | ast.List | ast.Set):
            items: list[Any] = []
            for e in node.elts:
                if isinstance(e, ast.Starred):
                    items.extend(_iterable(self.fold(e.value, env)))
                else:
                    items.append(self.fold(e, env))
                if len(items) > _MAX_SIZE:  # the whole is weighed once built (fold)
                    raise _Refused
            self.tick(len(items))
            if isinstance(node, ast.Set):
                return bounded_set(set(), items)
            return tuple(items) if isinstance(node, ast.Tuple) else items
        if isinstance(node, ast.Dict):
            pairs = []
            for k, v in zip(node.keys, node.values, strict=True):
                if k is None:
                    raise _Refused
                pairs.append((self.fold(k, env), self.fold(v, env)))
            self.tick(len(pairs))
            return bounded_dict(pairs)
        if isinstance(node, ast.UnaryOp):
            operand = self.fold(node.operand, env)
            if isinstance(node.op, ast.Not):
                return not operand
            if not isinstance(operand, int | float | complex):
                raise _Refused
            return _UNARY[type(node.op)](operand)
        if isinstance(node, ast.BinOp):
            a, b = self.fold(node.left, env), self.fold(node.right, env)
            return self.binop(node.op, a, b)
        if isinstance(node, ast.Subscript):
            container = self.fold(node.value, env)
            if not isinstance(container, str | bytes | list | tuple | dict):
                raise _Refused
            if isinstance(node.slice, ast.Slice):
                s = node.slice
                bounds = [
                    None if x is None else self.fold(x, env) for x in (s.lower, s.upper, s.step)
                ]
                if not all(b is None or type(b) is int for b in bounds):
                    raise _Refused
                return container[slice(*bounds)]
            return container[self.fold(node.slice, env)]
        if isinstance(node, ast.Call):
            return self.call(node, env)
        raise _Refused

    def binop(self, op: ast.operator, a: Any, b: Any) -> Any:
        numbers = (int, float, complex)
        if isinstance(op, ast.Pow) and isinstance(a, int) and isinstance(b, int) and b > 0:
            if max(1, abs(a).bit_length()) * b > _MAX_INT_BITS and abs(a) > 1:
                raise _Refused
        elif isinstance(op, ast.Mult) and (isinstance(a, int) or isinstance(b, int)):
            seq, n = (b, a) if isinstance(a, int) else (a, b)
            if isinstance(seq, str | bytes | list | tuple):
                if len(seq) * max(n, 0) > _MAX_SIZE:
                    raise _Refused
                self.tick(len(seq) * max(n, 0))
        elif isinstance(op, ast.LShift) and isinstance(b, int) and b > _MAX_INT_BITS:
            raise _Refused
        elif isinstance(op, ast.Mod) and not isinstance(a, numbers):
            raise _Refused  # '%9999999d' % x: formatting
        elif isinstance(op, ast.MatMult):
            raise _Refused
        if isinstance(a, set | frozenset | dict) or isinstance(b, dict):
            if not isinstance(op, ast.BitOr | ast.BitAnd | ast.BitXor | ast.Sub):
                raise _Refused
            self.tick(len(a) + (len(b) if hasattr(b, "__len__") else 0))
        return _BINARY[type(op)](a, b)

    def call(self, node: ast.Call, env: _Env) -> Any:
        """Pure builtins on folded values, and a dict's ``items``/``keys``/``values``."""
        if isinstance(node.func, ast.Attribute):
            if (
                node.func.attr in ("items", "keys", "values")
                and not node.args
                and not node.keywords
            ):
                d = self.fold(node.func.value, env)
                if isinstance(d, dict):
                    return list(getattr(d, node.func.attr)())
            raise _Refused
        name = self.builtin(node.func)
        allowed = {"sorted": ("reverse",), "enumerate": ("start",)}.get(name or "", ())
        if name not in _PURE or any(k.arg not in allowed for k in node.keywords):
            raise _Refused
        args = [self.fold(a, env) for a in node.args]
        kwargs = {k.arg: self.fold(k.value, env) for k in node.keywords if k.arg}
        if name == "range":
            if not all(type(a) is int for a in args) or len(range(*args)) > _MAX_SIZE:
                raise _Refused
            return list(range(*args))
        if name in ("str", "repr") and (len(args) != 1 or kwargs or not _plain(args[0])):
            raise _Refused  # str(b'x', 'codec'): a codec's code, not a value's text
        if name in ("int", "float") and args and not isinstance(args[0], int | float | str):
            raise _Refused
        if (
            name == "round"
            and len(args) == 2
            and not (type(args[1]) is int and abs(args[1]) <= _MAX_ROUND_DIGITS)
        ):
            raise _Refused  # round(5, -10**7) computes 10**(10**7)
        if name == "sum" and not (
            len(args) == 1 and all(isinstance(x, int | float) for x in _iterable(args[0]))
        ):
            raise _Refused
        self.tick(
            sum(len(a) for a in args if isinstance(a, str | bytes | list | tuple | set | dict))
        )
        if name in ("set", "frozenset") and len(args) == 1:
            return _PURE[name](bounded_set(set(), _iterable(args[0])))
        value = _PURE[name](*args, **kwargs)
        if name in ("zip", "enumerate", "reversed"):
            value = [tuple(x) if isinstance(x, tuple) else x for x in value]
        return value


_UNARY = {ast.USub: operator.neg, ast.UAdd: operator.pos, ast.Invert: operator.invert}
_BINARY = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
    ast.Pow: operator.pow,
    ast.LShift: operator.lshift,
    ast.RShift: operator.rshift,
    ast.BitOr: operator.or_,
    ast.BitAnd: operator.and_,
    ast.BitXor: operator.xor,
}
_PURE: dict[str, Any] = {
    "tuple": tuple,
    "list": list,
    "set": set,
    "frozenset": frozenset,
    "sorted": sorted,
    "reversed": reversed,
    "str": str,
    "repr": repr,
    "int": int,
    "float": float,
    "bool": bool,
    "abs": abs,
    "round": round,
    "len": len,
    "sum": sum,
    "min": min,
    "max": max,
    "range": range,
    "zip": zip,
    "enumerate": enumerate,
}
"""Builtins folding applies to decoded literals (their arguments are literal values, so
they run no checker code and their cost is bounded by the arguments' size)."""


def _plain(v: Any) -> bool:
    """Whether ``v`` is made of literal types only (``str`` of it is its ``repr`` pieces)."""
    if isinstance(v, list | tuple | set | frozenset):
        return all(_plain(x) for x in v)
    if isinstance(v, dict):
        return all(_plain(k) and _plain(x) for k, x in v.items())
    return v is None or isinstance(v, bool | int | float | complex | str | bytes)


def _iterable(v: Any) -> Iterable[Any]:
    if isinstance(v, str | bytes | list | tuple | set | frozenset | dict):
        return v
    raise _Refused


def _check_size(v: Any) -> None:
    """Refuse a value over the size bounds, counted over everything it holds: one list of
    9,999 references to one 9,999-long list is short at the top, and writing it out (its
    pair's text) took minutes."""
    left = [_MAX_SIZE]

    def walk(x: Any) -> None:
        if isinstance(x, int) and x.bit_length() > _MAX_INT_BITS:
            raise _Refused
        if isinstance(x, str | bytes):
            left[0] -= len(x)
        elif isinstance(x, list | tuple | set | frozenset | dict):
            left[0] -= len(x)
            if left[0] < 0:
                raise _Refused
            for item in x.items() if isinstance(x, dict) else x:
                walk(item)
        if left[0] < 0:
            raise _Refused

    try:
        walk(v)
    except RecursionError:
        raise _Refused from None


def _spelled(text: str) -> list[Any]:
    """The values whose ``str`` is ``text``: ``text`` itself, and the literal it spells when
    that is of another type and spelled exactly so (``'5.5'``: 5.5 first, then ``'5.5'``)."""
    try:
        value = ast.literal_eval(text) if len(text) <= _MAX_SIZE else text
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return [text]
    if isinstance(value, str) or not _plain(value) or str(value) != text:
        return [text]
    return [value, text]
