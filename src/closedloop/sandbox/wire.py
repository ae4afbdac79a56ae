"""The plain-data wire format between sandboxed processes and the trusted parent.

Values cross the sandbox boundary as *text* in a restricted literal syntax (Python literals,
plus ``float('nan')``, ``float('inf')``, ``set()`` and ``frozenset([...])``). The sending side
encodes with exact type checks; the receiving side parses the text itself with
:func:`decode_plain` under length, node and nesting caps and rebuilds exact builtin types.
An object the candidate built (an ``int`` subclass, an always-equal object) cannot survive the
trip: what arrives is the plain value its text spells, or a refusal. Between the two ends of
the checker proxy only, a few of the standard library's value types (``Fraction``, ``deque``,
``OrderedDict``...) also cross as themselves, rebuilt by their own constructors.

Frames on the result channel are a 4-byte big-endian length followed by a UTF-8 JSON object.

This file is stdlib-only and self-contained: its source is also sent into the sandbox, where
it runs before any candidate code.
"""

import ast
import cmath
import itertools
import json
import math
import os
import re
import struct
import sys
import warnings

MAX_TEXT = 1 << 20  # longest literal text accepted (characters)
MAX_NODES = 200_000  # most AST nodes in one decoded value
MAX_TOKENS = 3 * MAX_NODES  # most tokens (strings, numbers, names, signs) parsed for one value
MAX_INT_BITS = 14_284  # every int under it prints within the default 4,300-digit limit
JUDGE_INT_BITS = 1 << 22  # a checker's judge: factorial(2000) and far more, linear in hex
MAX_SAME_HASH = 64  # distinct keys of one set or dict that may share a hash value
MAX_FRAME = 4 << 20  # longest frame on a channel (bytes)
_HDR = struct.Struct(">I")


class WireError(ValueError):
    """A value or frame that is not acceptable plain data; the message says why."""


class TooManyTokens(WireError):
    """A value with more tokens than the reader's cap (``decode_plain``'s ``max_tokens``):
    not parsed, and unequal to every value the cap was set for."""


# -- values ---------------------------------------------------------------------------------


_BUILTIN_TYPES = {
    t.__name__: t
    for t in (bool, int, float, complex, str, bytes, list, tuple, dict, set, frozenset)
}
_BASES = (bool, int, float, complex, str, bytes, list, tuple, dict, set, frozenset)


def _enc(x, out, depth, budget, objects, stdlib=False):
    if depth > 100:
        raise WireError("value nested deeper than 100 levels (or holding itself)")
    budget[0] -= 1
    if budget[0] < 0:
        raise WireError("value has too many elements")
    t = type(x)
    if t not in _BASES and x is not None:
        if t is Handle and objects:  # the candidate's own object, by its number there
            out.append(f"__handle__({int(object.__getattribute__(x, '_k'))})")
            return
        if (
            objects
            and objects.functions is not None
            and callable(x)
            and (fn := objects.functions(x)) is not None
        ):
            out.append(f"__fn__({int(fn[0])}, {str(fn[1])[:100]!r}")
            if len(fn) > 2 and fn[2] is True:  # a method of the reader's object
                out.append(", True")
            elif len(fn) > 3 and fn[3] is not None:  # what the function says of itself
                out.append(", False, ")
                _enc(fn[3], out, depth + 1, budget, None)
            out.append(")")
            return
        if objects and objects.handle is not None and (kept := objects.handle(x)) is not None:
            k, kind = kept  # it stays here: the checker gets a handle
            kind = ", True" if kind is True else f", {FUNCTION_HANDLE!r}" if kind else ""
            out.append(f"__handle__({int(k)}{kind})")
            return
        if objects and _is_member(x) and t.__module__ in _NAMESPACES:
            # Color.RED by name (and value): the reader's own member where it has the class
            name = x._name_ if x._name_ in t.__members__ else None  # a Flag's composite
            out.append(f"__member__({_class_path(t)!r}, {name!r}, ")
            _enc(x._value_, out, depth + 1, budget, objects, stdlib)
            plain = any(isinstance(x, b) for b in (int, str, float))
            out.append(f", {plain!r})")
            objects.enums.add(t)
            return
        if stdlib and _enc_stdlib(x, t, out, depth, budget, objects):
            return
        # A subclass of a builtin crosses as its builtin value (a namedtuple as a tuple; a
        # Counter as a dict where the standard library's types do not cross): forged __eq__
        # or __repr__ stay behind.
        base = next((b for b in _BASES if isinstance(x, b)), None)
        if base is not None and objects and objects.strict and _overrides(t, base):
            raise WireError(
                f"a {t.__name__} ({base.__name__} subclass) that overrides {base.__name__}'s "
                f"own methods: the candidate's process gets a plain {base.__name__} and would "
                "never run them"
            )
        if base is tuple and objects and t.__module__ in _NAMESPACES and _is_named_tuple(t):
            # a NamedTuple of the prompt's: the reader's own class where it has one
            out.append(f"__named__({_class_path(t)!r}, ")
            _enc(tuple(tuple.__iter__(x)), out, depth + 1, budget, objects, stdlib)
            fields = t._fields if len(t._fields) <= _MAX_FIELDS else ()
            out.append(", (" + "".join(str.__repr__(str(f)) + ", " for f in fields) + "))")
            return
        if base is not None:
            x, t = _EXACT[base](x), base
        elif type(x) is type and x.__name__ in _BUILTIN_TYPES and _BUILTIN_TYPES[x.__name__] is x:
            out.append(x.__name__)
            return
        elif objects and not callable(x) and (state := _obj_state(x)) is not None:
            # by reference, into the graph's table (see encode_plain): shared nodes stay
            # one, cycles end, and a list of 10,000 nodes is no deeper than one
            k = objects.index.get(id(x))
            if k is None:
                k = objects.index[id(x)] = len(objects.table)
                objects.table.append((x, state))
            out.append(f"__ref__({k})")
            return
        else:
            _bad(x)
    if x is None or t is bool or t is str or t is bytes:
        out.append(repr(x) if t is not str and t is not bytes else t.__repr__(x))
    elif t is int:
        try:
            out.append(int.__repr__(x))
        except ValueError:  # past sys.get_int_max_str_digits: in hex, which is linear to read
            out.append(int.__format__(x, "#x"))
    elif t is float:
        if math.isnan(x):
            out.append("float('nan')")
        elif math.isinf(x):
            out.append("float('inf')" if x > 0 else "float('-inf')")
        else:
            out.append(float.__repr__(x))
    elif t is complex:
        out.append(complex.__repr__(x) if all(map(math.isfinite, (x.real, x.imag))) else _bad(x))
    elif t is list or t is tuple:
        items = list.__iter__(x) if t is list else tuple.__iter__(x)
        out.append("[" if t is list else "(")
        n = 0
        for v in items:
            if n:
                out.append(", ")
            _enc(v, out, depth + 1, budget, objects, stdlib)
            n += 1
        if t is tuple and n == 1:
            out.append(",")
        out.append("]" if t is list else ")")
    elif t is dict:
        out.append("{")
        for i, (k, v) in enumerate(dict.items(x)):
            if i:
                out.append(", ")
            _enc(k, out, depth + 1, budget, objects, stdlib)
            out.append(": ")
            _enc(v, out, depth + 1, budget, objects, stdlib)
        out.append("}")
    elif t is set or t is frozenset:
        # Elements in the order of their text: the same set reads the same from every worker,
        # whatever its hash seed.
        texts = []
        for v in set.__iter__(x) if t is set else frozenset.__iter__(x):
            sub = []
            _enc(v, sub, depth + 1, budget, objects, stdlib)
            texts.append("".join(sub))
        texts.sort()
        if t is frozenset:
            out.append("frozenset([" + ", ".join(texts) + "])")
        else:
            out.append("{" + ", ".join(texts) + "}" if texts else "set()")
    else:
        _bad(x)


# The standard library's value types that cross as themselves where both ends are the
# checker proxy's (``stdlib=True``): a checker compares them as Python does -- a Fraction or a
# Decimal equal to a float, an OrderedDict's order, a Counter's missing counts as zeros, a
# defaultdict's default -- and sees them changed in place. Only these exact classes, rebuilt on
# the far side by their own constructors from plain data: a subclass still crosses as its
# builtin base, so nothing the candidate defined survives the trip.
_STDLIB = {
    ("collections", "OrderedDict"): "OrderedDict",
    ("collections", "Counter"): "Counter",
    ("collections", "defaultdict"): "defaultdict",
    ("collections", "deque"): "deque",
    ("decimal", "Decimal"): "Decimal",
    ("fractions", "Fraction"): "Fraction",
    ("builtins", "bytearray"): "bytearray",
    ("datetime", "date"): "date",
    ("datetime", "datetime"): "datetime",
    ("datetime", "time"): "time",
    ("datetime", "timedelta"): "timedelta",
    ("datetime", "timezone"): "timezone",
}
_VIEWS = {type({}.keys()): "dict_keys", type({}.values()): "dict_values"}
_VIEWS[type({}.items())] = "dict_items"
_STDLIB_NAMES = frozenset(_STDLIB.values()) | {"slice", "range"} | frozenset(_VIEWS.values())
_STDLIB_ARGS = {"datetime": 9, "time": 6, "date": 3, "timedelta": 3, "timezone": 2}
"""Most arguments of a standard-library form (three for the others)."""
_DATETIME_FIELDS = {
    "date": ("year", "month", "day"),
    "datetime": ("year", "month", "day", "hour", "minute", "second", "microsecond"),
    "time": ("hour", "minute", "second", "microsecond"),
}
STDLIB_MUTABLE = frozenset({"OrderedDict", "Counter", "defaultdict", "deque", "bytearray"})


def stdlib_type(t):
    """The name of ``t`` where it is exactly one of the standard library's value types that
    cross the checker proxy as themselves (``_STDLIB``), else None."""
    name = _STDLIB.get((getattr(t, "__module__", None), getattr(t, "__qualname__", None)))
    if name is None:
        return None
    module = sys.modules.get(t.__module__)
    return name if module is not None and getattr(module, name, None) is t else None


_NAMESPACES = ("__judge__", "__candidate__")  # the modules the checker's and solution's code are


def _overrides(t, base):
    """Whether ``t``, a subclass of the builtin ``base``, changes how a candidate's use of it
    behaves: a class the checker defined (``__judge__``; the standard library's own subclasses
    are the library's behaviour) that redefines one of ``base``'s methods (``append``,
    ``__setitem__`` counting writes, ``__add__``, ``__eq__``), reads attributes its own way
    (``__getattribute__`` hiding ``sort``) or answers missing keys (``__missing__``). Only what
    cannot change a call's outcome is left out (construction, ``repr``, pickling)."""
    own = set().union(
        *(c.__dict__ for c in t.__mro__ if c not in base.__mro__ and c.__module__ == "__judge__")
    )
    return any((n in base.__dict__ and n not in _HARMLESS) or n in _HOOKS for n in own)


_HOOKS = frozenset({"__getattribute__", "__getattr__", "__missing__"})
_HARMLESS = frozenset(
    {"__new__", "__init__", "__repr__", "__str__", "__format__", "__doc__", "__getnewargs__"}
    | {"__reduce__", "__reduce_ex__", "__sizeof__", "__dir__", "__init_subclass__"}
    | {"__subclasshook__", "__class_getitem__", "__getstate__", "__module__", "__qualname__"}
)


def _is_member(x):
    """Whether ``x`` is a member of an ``enum.Enum`` (no enum module loaded: none exists)."""
    enum = sys.modules.get("enum")
    return enum is not None and isinstance(x, enum.Enum)


def _enc_stdlib(x, t, out, depth, budget, objects):
    """Write ``x`` in its standard-library form; False where it has none (then it crosses as
    a builtin value, or not at all)."""
    if t is slice:  # a checker's `obj[1:3]` on the candidate's object
        out.append("slice(")
        for i, part in enumerate((x.start, x.stop, x.step)):
            if part is not None and type(part) is not int:
                _bad(part)
            out.append(f"{', ' if i else ''}{'None' if part is None else int.__repr__(part)}")
        out.append(")")
        return True
    if t is range:  # exactly, not as a list: `candidate(3) == range(3)` holds in Python
        out.append(f"range({int(x.start)}, {int(x.stop)}, {int(x.step)})")
        return True
    if t in _VIEWS:  # a view of a dict only the far side holds: what it showed, in order
        out.append(_VIEWS[t] + "(")
        _enc(list(x), out, depth + 1, budget, objects, True)
        out.append(")")
        return True
    name = stdlib_type(t)
    strict = objects is not None and objects.strict  # the checker's side
    if name is None:  # a subclass of one crosses as it, unless it changes how it behaves
        base = next((c for c in t.__mro__[1:] if stdlib_type(c) is not None), None)
        if base is None:
            return False
        if strict and _overrides(t, base):
            raise WireError(
                f"a {t.__name__} ({base.__name__} subclass) that overrides {base.__name__}'s "
                f"own methods: the candidate's process gets a plain {base.__name__} and would "
                "never run them"
            )
        name = stdlib_type(base)
    if name == "defaultdict":
        f = x.default_factory
        if f is not None and not (type(f) is type and _BUILTIN_TYPES.get(f.__name__) is f):
            if strict:  # the solution would read a missing key as a KeyError
                raise WireError("a defaultdict whose default is code cannot cross")
            return False  # a factory that is code cannot cross: as a dict, as before
        out.append(f"defaultdict({'None' if f is None else f.__name__}, ")
        _enc(dict(dict.items(x)), out, depth + 1, budget, objects, True)
    elif name in ("OrderedDict", "Counter"):
        out.append(name + "(")  # an OrderedDict's own order (move_to_end leaves dict's as it was)
        _enc(dict(x.items()), out, depth + 1, budget, objects, True)
    elif name == "deque":
        out.append("deque(")
        _enc(list(x), out, depth + 1, budget, objects, True)
        if x.maxlen is not None:
            out.append(f", {int(x.maxlen)}")
    elif name == "bytearray":
        out.append("bytearray(" + bytes.__repr__(bytes(x)))
    elif name == "Decimal":
        out.append("Decimal(" + repr(str(x)))
    elif name in _DATETIME_FIELDS:
        out.append(name + "(" + ", ".join(str(int(getattr(x, f))) for f in _DATETIME_FIELDS[name]))
        if name != "date":
            tz = x.tzinfo
            if tz is not None and stdlib_type(type(tz)) != "timezone":
                # a zone's rules are code (zoneinfo reads files): only fixed offsets cross
                raise WireError(
                    f"a {name} whose tzinfo is a {type(tz).__name__}, not a fixed offset"
                )
            out.append(", ")
            _enc(tz, out, depth + 1, budget, objects, True)
            out.append(f", {int(x.fold)}")
    elif name == "timedelta":
        out.append(f"timedelta({int(x.days)}, {int(x.seconds)}, {int(x.microseconds)}")
    elif name == "timezone":
        offset = x.utcoffset(None)
        out.append(f"timezone(timedelta({offset.days}, {offset.seconds}, {offset.microseconds})")
        if x.tzname(None) != type(x)(offset).tzname(None):  # a name of its own
            out.append(", " + str.__repr__(str(x.tzname(None))))
    else:  # Fraction
        out.append("Fraction(")
        _enc(int(x.numerator), out, depth + 1, budget, objects, True)
        out.append(", ")
        _enc(int(x.denominator), out, depth + 1, budget, objects, True)
    out.append(")")
    return True


def _make_stdlib(name, vals, caps):
    """The standard-library value a ``Name(...)`` form spells, built by the class's own
    constructor from decoded plain data; :class:`WireError` for any other shape."""
    n = len(vals)
    first = vals[0] if vals else None
    if name in ("OrderedDict", "Counter") and n == 1 and type(first) is dict:
        import collections

        return getattr(collections, name)(first)
    if name == "defaultdict" and n == 2 and type(vals[1]) is dict:
        if first is None or (type(first) is type and _BUILTIN_TYPES.get(first.__name__) is first):
            import collections

            return collections.defaultdict(first, vals[1])
    if name == "deque" and type(first) is list and n in (1, 2):
        maxlen = vals[1] if n == 2 else None
        if maxlen is None or (type(maxlen) is int and 0 <= maxlen < 1 << 62):
            import collections

            return collections.deque(first, maxlen)
    if name == "slice" and n == 3 and all(v is None or type(v) is int for v in vals):
        return slice(*vals)
    if name == "bytearray" and n == 1 and type(first) is bytes:
        return bytearray(first)
    if name == "Decimal" and n == 1 and type(first) is str and len(first) <= 32 + caps[1] // 3:
        import decimal

        d = decimal.Decimal(first)
        if d.is_snan():  # compares by raising: no checker could judge it
            raise WireError("a signalling NaN is not plain data")
        return d
    if name in _DATETIME_FIELDS or name in ("timedelta", "timezone"):
        return _make_datetime(name, vals)
    if name == "range" and n == 3 and all(type(v) is int for v in vals) and vals[2] != 0:
        if max(v.bit_length() for v in vals) > MAX_INT_BITS:  # len() divides: quadratic
            raise WireError(f"range with a bound over {MAX_INT_BITS} bits")
        return range(*vals)
    if name in ("dict_keys", "dict_values", "dict_items") and n == 1 and type(first) is list:
        if name == "dict_values":
            return dict(enumerate(first)).values()
        if name == "dict_keys":  # keys hashed under the bound a dict's are
            return bounded_dict((k, None) for k in first).keys()
        if all(type(p) is tuple and len(p) == 2 for p in first):
            return bounded_dict(first).items()
    if name == "Fraction" and n == 2 and all(type(v) is int for v in vals):
        if max(first.bit_length(), vals[1].bit_length()) > caps[1]:
            raise WireError(f"Fraction with a part over {caps[1]} bits")
        import fractions

        return fractions.Fraction(first, vals[1])
    raise WireError(f"not a plain literal: {name}() of this shape")


def _make_datetime(name, vals):
    """A ``datetime`` module value from its fields (``_enc_stdlib``'s forms), each checked for
    its type before the class's constructor checks its range."""
    import datetime

    n, fields = len(vals), _DATETIME_FIELDS.get(name, ())
    try:
        if fields:
            parts, rest = vals[: len(fields)], vals[len(fields) :]
            ok = n == len(fields) + (0 if name == "date" else 2)
            if ok and all(type(v) is int for v in parts):
                if name == "date":
                    return datetime.date(*parts)
                tz, fold = rest
                if (tz is None or type(tz) is datetime.timezone) and fold in (0, 1):
                    return getattr(datetime, name)(*parts, tzinfo=tz, fold=fold)
        elif name == "timedelta" and n == 3 and all(type(v) is int for v in vals):
            return datetime.timedelta(*vals)
        elif name == "timezone" and 1 <= n <= 2 and type(vals[0]) is datetime.timedelta:
            if n == 1 or type(vals[1]) is str:
                return datetime.timezone(*vals)
    except (ValueError, OverflowError) as e:
        raise WireError(f"{name}() out of range: {e}") from None
    raise WireError(f"not a plain literal: {name}() of this shape")


_EXACT = {  # the builtin value inside a subclass instance, through the builtin's own slots
    int: int.__int__,
    float: float.__float__,
    complex: lambda x: complex(x.real, x.imag),
    str: str.__str__,
    bytes: lambda x: bytes(memoryview(x)),
    list: lambda x: x,
    tuple: lambda x: x,
    dict: lambda x: x,
    set: lambda x: x,
    frozenset: lambda x: x,
    bool: bool,
}


def _bad(x):
    raise WireError(f"not plain data: a value of type {type(x).__name__}")


class Handle:
    """The checker's end of an object that lives in the candidate's process: an instance of a
    class-based solution (the task's prompt defines its entry point as a class, as "design"
    tasks do: ``c = candidate(2); c.put(1, 1)``), or an iterator (a generator the solution
    returned, ``iter`` of its object). The object itself never crosses, so none of its code
    runs in the checker's process: reading an attribute asks the candidate's process, a
    method call runs there, through the checker proxy like any call of the candidate, and so
    does each operation of :data:`HANDLE_OPS` -- but only what the prompt's class declares
    (its methods, its dunders: ``__len__``, ``__iter__``, ``__add__``, ``__eq__``...). What
    it does not declare is an object's: ``==`` and ``hash`` by identity (an always-equal
    ``__eq__`` stays behind), ``len`` a TypeError, and the method names of the builtin value
    types (``count``, ``index``, ``keys``...) missing, so the candidate's object cannot
    answer for a list the checker expected. An iterator answers ``iter`` and ``next`` only,
    one item a request (an endless one under ``islice`` ends). A handle passed back as an
    argument is the object again. ``port`` answers ``get(handle, name)``,
    ``call(handle, name, args, kwargs)`` and ``operate(handle, name, args, kwargs)``
    (``NotImplemented`` where the operation is not the object's to answer)."""

    __slots__ = ("_k", "_port", "__weakref__")

    def __init__(self, k, port):
        object.__setattr__(self, "_k", k)
        object.__setattr__(self, "_port", port)

    def __getattr__(self, name):
        if name.startswith("__") and name not in FUNCTION_NAMES:
            raise AttributeError(name)
        return object.__getattribute__(self, "_port").get(self, name)

    def __setattr__(self, name, value):
        if name.startswith("__"):
            raise AttributeError("the candidate's object takes no dunders from a checker")
        object.__getattribute__(self, "_port").set(self, name, value)


def _handle_operation(name):
    def operation(self, *args):
        got = object.__getattribute__(self, "_port").operate(self, name, args, {})
        if got is NotImplemented:  # not the candidate's to answer: an object's default
            return _OBJECT_DEFAULTS.get(name, _no_operation(name))(self, *args)
        if name == "__next__" and got is ITER_END:
            raise StopIteration
        if name in ("__iter__", "__reversed__") and type(got) is not Handle:
            return iter(got)  # an iterator of the standard library's, taken whole
        return got

    operation.__name__ = operation.__qualname__ = name
    return operation


def _no_operation(name):
    def refuse(self, *args):
        if args and name not in _ITEM_OPERATIONS:  # a binary operator: Python's own fallback
            return NotImplemented
        raise TypeError(f"the candidate's object has no {name} (its prompt's class declares none)")

    return refuse


def _placeholder(self, *args):
    return f"<the candidate's object #{object.__getattribute__(self, '_k')}>"


def _contains_by_iterating(self, x):
    """``x in obj`` where ``obj`` answers iteration but not ``__contains__``: Python's own
    fallback, ``any(v is x or v == x for v in obj)``."""
    items = object.__getattribute__(self, "_port").operate(self, "__iter__", (), {})
    if items is NotImplemented:
        raise TypeError(
            "the candidate's object has no __contains__ (its prompt's class declares none)"
        )
    items = items if type(items) is Handle else iter(items)
    return any(v is x or v == x for v in items)


_OBJECT_DEFAULTS = {
    "__hash__": object.__hash__,
    "__repr__": _placeholder,
    "__str__": _placeholder,
    "__bool__": lambda self: True,
    "__format__": object.__format__,
    "__contains__": _contains_by_iterating,
}
_ITEM_OPERATIONS = frozenset({"__contains__", "__getitem__", "__setitem__", "__delitem__"})
_BINARY = ("add", "sub", "mul", "truediv", "floordiv", "mod", "divmod", "pow", "matmul")
_BINARY += ("and", "or", "xor", "lshift", "rshift")
HANDLE_OPS = {
    **{"__len__": int, "__bool__": bool, "__contains__": bool, "__str__": str, "__repr__": str},
    **{"__iter__": object, "__reversed__": object, "__next__": object, "__getitem__": object},
    **{"__setitem__": type(None), "__delitem__": type(None)},
    **dict.fromkeys(("__eq__", "__ne__", "__lt__", "__le__", "__gt__", "__ge__"), object),
    **{f"__{n}__": object for n in _BINARY},
    **{f"__r{n}__": object for n in _BINARY},
    **{f"__i{n}__": object for n in _BINARY if n != "divmod"},
    **dict.fromkeys(("__neg__", "__pos__", "__abs__", "__invert__"), object),
    **{"__hash__": int, "__int__": int, "__index__": int, "__float__": float},
    **{"__floor__": object, "__ceil__": object, "__trunc__": object, "__round__": object},
    **{"__call__": object, "__enter__": object, "__exit__": object, "__format__": str},
}
"""What a checker may do to the candidate's object besides reading its attributes, each with
the type of what it gives back (``__iter__``'s is a handle or a list): each runs in the
candidate's process as Python does it there (``len(obj)``, ``operator.add(obj, other)``,
reflection and ``NotImplemented`` included), where the prompt's class declares it."""

for _name in HANDLE_OPS:
    setattr(Handle, _name, _handle_operation(_name))
del _name


def _handle_call(self, *args, **kwargs):
    got = object.__getattribute__(self, "_port").operate(self, "__call__", args, kwargs)
    if got is NotImplemented:
        raise TypeError(
            "the candidate's object is not callable (its prompt's class declares no __call__)"
        )
    return got


def _handle_exit(self, kind, exc, traceback):
    """The end of a ``with`` block: the candidate's ``__exit__`` learns what ended it (a
    builtin exception's class and message; the checker's own objects stay here), and never
    swallows it or puts its own in its place -- a context manager that answered True, or
    raised what the checker expects, would otherwise skip the checker's failing assertion."""
    port = object.__getattribute__(self, "_port")
    if exc is None:
        if port.operate(self, "__exit__", (None,), {}) is NotImplemented:
            raise TypeError(
                "the candidate's object has no __exit__ (its prompt's class declares none)"
            )
        return False
    note = (_builtin_exception_name(exc), str(exc)[:1000])
    try:
        port.operate(self, "__exit__", (note,), {})
    except BaseException:  # noqa: S110 - the checker's own exception goes on (a fault is kept)
        pass
    return False


def _builtin_exception_name(exc):
    return next(c.__name__ for c in type(exc).__mro__ if c.__module__ == "builtins")


class _HandleDoc:
    """``Handle.__doc__``: the class's docstring; on a handle, what its port says (a function
    of the candidate's: the function's, which ``functools.wraps`` copies and a checker may
    compare; an object of the prompt's class: that class's)."""

    def __init__(self, doc):
        self.doc = doc

    def __get__(self, handle, cls=None):
        return self.doc if handle is None else object.__getattribute__(handle, "_port").doc(handle)


def _handle_copy(self, memo=None):
    """``copy.copy`` and ``copy.deepcopy`` of a handle: a function is itself, as Python copies
    a function; any other object of the candidate's cannot be copied in the checker's
    process (its state is in the candidate's)."""
    if object.__getattribute__(self, "_port").is_function(self):
        return self
    raise TypeError("the candidate's object cannot be copied in the checker's process")


Handle.__call__ = _handle_call
Handle.__exit__ = _handle_exit
Handle.__copy__ = Handle.__deepcopy__ = _handle_copy
Handle.__doc__ = _HandleDoc(Handle.__doc__)

MAX_PARAMETERS = 64
"""The parameters a function's signature may list on the wire (more: no signature crosses)."""


def function_meta(fn):
    """What a function says of itself, as it crosses with the function (``__fn__(k, name,
    False, meta)``): ``(qualname, docstring, parameters)``, each parameter ``(name, kind as
    inspect numbers it, whether it has a default)``, the parameters None where ``inspect``
    finds no signature or more than :data:`MAX_PARAMETERS`. A curry reading the arity of the
    checker's function, or a decorator's ``functools.wraps``, then sees it as it is."""
    import inspect  # noqa: PLC0415 - only where a function crosses

    name = getattr(fn, "__name__", None)
    qualname = getattr(fn, "__qualname__", None)
    qualname = qualname if type(qualname) is str and len(qualname) <= 200 else name
    doc = getattr(fn, "__doc__", None)
    doc = doc if type(doc) is str and len(doc) <= 4000 else None
    try:
        params = tuple(
            (p.name, int(p.kind), p.default is not p.empty)
            for p in inspect.signature(fn).parameters.values()
        )
    except (TypeError, ValueError):  # a builtin without a text signature
        params = None
    if params is not None and len(params) > MAX_PARAMETERS:
        params = None
    return (qualname if type(qualname) is str else None, doc, params)


def _function_meta(meta):
    """``function_meta``'s tuple as a reader takes it: its shape checked, else nothing."""
    if type(meta) is not tuple or len(meta) != 3:
        raise WireError("a function's description that is not one")
    qualname, doc, params = meta
    if not (qualname is None or (type(qualname) is str and len(qualname) <= 200)):
        raise WireError("a function's qualified name that is not one")
    if not (doc is None or (type(doc) is str and len(doc) <= 4000)):
        raise WireError("a function's docstring that is not one")
    if params is not None:
        if type(params) is not tuple or len(params) > MAX_PARAMETERS:
            raise WireError("a function's parameters that are not a signature")
        for p in params:
            ok = type(p) is tuple and len(p) == 3 and type(p[0]) is str and p[0].isidentifier()
            if not (ok and type(p[1]) is int and 0 <= p[1] <= 4 and type(p[2]) is bool):
                raise WireError("a function's parameters that are not a signature")
    return meta


ITER_END = object()  # what the port answers a ``__next__`` with where the iterator is done
FUNCTION_NAMES = frozenset({"__name__", "__qualname__", "__doc__", "__wrapped__"})
"""The dunders a checker may read off a function of the candidate's (a decorator's
``functools.wraps`` is checked by them: ``inspect.signature`` follows ``__wrapped__``); no
other object's, and no other dunder."""
FUNCTION_HANDLE = "function"
"""The kind of a handle to a function of the candidate's (``__handle__(k, "function")``): a
closure or a ``partial`` the solution returned, which the checker may call and nothing
else; an iterator's kind is True, an object of the entry class's False."""


class _Graph:
    """The objects one encoding met, in the order it met them: each crosses once, in the
    table of a ``__graph__(value, [(class name, attributes, origin), ...])`` form, and every
    place that holds it says ``__ref__(k)``."""

    __slots__ = ("index", "table", "handle", "strict", "enums", "functions")

    def __init__(self, handle=None, strict=False, functions=None):
        self.index = {}  # id -> position in the table (the objects are alive in the value)
        self.table = []  # (object, its attributes)
        self.handle = handle  # object -> its handle number where it stays (or None)
        self.strict = strict  # the checker's side: a subclass it instruments cannot cross
        self.enums = set()  # the enumerations whose members crossed by name
        self.functions = functions  # callable -> (its number, its name) where it crosses


def encode_plain(
    x,
    objects=False,
    stdlib=False,
    origins=None,
    table=None,
    handle=None,
    enums=None,
    functions=None,
):
    """Text for a plain value (None, bool, int, float, complex, str, bytes, list, tuple, dict,
    set, frozenset, nested, and the builtin types themselves); raises :class:`WireError` for
    anything else. A subclass of a builtin is written as its builtin value.

    ``objects=True`` (the two ends of the checker proxy, never a value for the verifier's own
    process) also writes instances of plain classes -- MBPP's trees, a checker's linked lists
    and graphs, a candidate's returned nodes -- as an object graph: the value, with
    ``__ref__(k)`` where it holds object ``k``, then a table of every object reached, each once
    (its class name, its attributes, in which ``__ref__`` also stands for objects, and its
    *origin*). A node shared by two others stays one object, a cycle ends, and a linked list
    of any length is only as deep as one node. ``origins``, a function, gives an object's
    *origin*: the number both ends of the proxy know it by (so the far side can tell an
    object it has seen before, in this call or an earlier one), or None; without it each
    object's origin is its own position. ``table``, a list,
    gets the objects in table order (and marks the sender as the checker's side, where a
    builtin's subclass that overrides its methods is refused: the candidate's process would
    never run them). ``handle`` maps an object that stays in the candidate's process to
    ``(its number there, its kind)`` (written ``__handle__(k)``, ``__handle__(k, True)`` for
    an iterator, ``__handle__(k, "function")`` for a function: see :class:`Handle` and
    :data:`FUNCTION_HANDLE`), or None; ``enums``, a set, gets
    the enumerations whose members crossed by name. ``functions`` (with ``objects``: the
    checker proxy's two ends) maps a function that stays in the writer's process to ``(its
    number there, its name)``, or to None where it cannot cross (written ``__fn__(k, name)``:
    the reader calls it back, see ``_inside``'s ``_CheckerFunction``); ``(k, name, True)`` is
    the method ``name`` of the reader's own object ``k`` (``__fn__(k, name, True)``).

    ``stdlib=True`` (both ends of the checker proxy) writes the standard library's value types
    (``OrderedDict``, ``Counter``, ``defaultdict`` with a builtin factory, ``deque``,
    ``Decimal``, ``Fraction``, ``bytearray``, ``datetime``'s ``date``, ``datetime``, ``time``,
    ``timedelta`` and fixed-offset ``timezone``: exactly those classes) in a form that
    ``decode_plain(..., stdlib=True)`` rebuilds as the same type.
    """
    out = []
    graph = _Graph(handle, table is not None, functions) if objects else None
    budget = [MAX_NODES]
    try:
        _enc(x, out, 0, budget, graph, stdlib)
        if graph is not None and graph.table:
            out = ["__graph__(", *out, ", ["]
            k = 0
            while k < len(graph.table):  # a state may meet more objects: the table grows
                obj, state = graph.table[k]
                origin = k if origins is None else origins(obj)
                out.append(f"{', ' if k else ''}({type(obj).__name__!r}, ")
                _enc(state, out, 1, budget, graph, stdlib)
                bases = _base_names(type(obj))
                out.append(f", {origin!r}, {bases!r})" if bases else f", {origin!r})")
                k += 1
            out.append("])")
        if table is not None and graph is not None:
            table.extend(obj for obj, _ in graph.table)
        if enums is not None and graph is not None:
            enums.update(graph.enums)
    except RecursionError:
        raise WireError("value nested too deeply") from None
    except ValueError as e:  # huge ints
        if isinstance(e, WireError):
            raise
        raise WireError(f"value cannot be written as a literal: {e}") from None
    text = "".join(out)
    if len(text) > MAX_TEXT:
        raise WireError(f"value text is {len(text)} characters, over the {MAX_TEXT} cap")
    return text


_SPECIAL_FLOATS = {"nan": math.nan, "inf": math.inf, "-inf": -math.inf}


def _dec(node, caps, ns=None):
    """``node`` as a plain value; ``caps`` is ``[nodes left, most bits of an int, whether the
    standard library's forms are read, the graph's objects that ``__ref__`` names or None,
    the ``handles`` hook or None, the ``functions`` hook or None]`` (see decode_plain)."""
    caps[0] -= 1
    if caps[0] < 0:
        raise WireError("value has too many elements")
    t = type(node)
    if t is ast.Constant:
        v = node.value
        if v is Ellipsis:
            raise WireError("Ellipsis is not plain data")
        if type(v) is int and v.bit_length() > caps[1]:  # a hex literal has no digit cap
            raise WireError(f"int of {v.bit_length()} bits, over the {caps[1]}-bit cap")
        return v
    if t is ast.Tuple:
        return tuple(_dec(e, caps, ns) for e in node.elts)
    if t is ast.List:
        return [_dec(e, caps, ns) for e in node.elts]
    if t is ast.Set:
        return bounded_set(set(), (_dec(e, caps, ns) for e in node.elts))
    if t is ast.Dict:
        if any(k is None for k in node.keys):
            raise WireError("dict unpacking is not a literal")
        return bounded_dict(
            (_dec(k, caps, ns), _dec(v, caps, ns))
            for k, v in zip(node.keys, node.values, strict=False)
        )
    if t is ast.UnaryOp and type(node.op) in (ast.USub, ast.UAdd):
        v = _dec(node.operand, caps, ns)
        if type(v) not in (int, float, complex):
            raise WireError("unary sign on a non-number")
        return -v if type(node.op) is ast.USub else +v
    if t is ast.BinOp and type(node.op) in (ast.Add, ast.Sub):
        left, right = _dec(node.left, caps, ns), _dec(node.right, caps, ns)
        if type(left) not in (int, float) or type(right) is not complex:
            raise WireError("only real +/- imaginary is a literal")
        return left + right if type(node.op) is ast.Add else left - right
    if t is ast.Name and node.id in _BUILTIN_TYPES:
        return _BUILTIN_TYPES[node.id]
    if t is ast.Call and type(node.func) is ast.Name and not node.keywords:
        name, args = node.func.id, node.args
        if name == "__member__" and ns is not None and len(args) == 4:
            return _member(ns, args, caps)
        if name == "__named__" and ns is not None and len(args) in (2, 3):
            return _named(ns, args, caps)
        if name == "__handle__" and caps[4] is not None and 1 <= len(args) <= 2:
            k, kind = (a.value if type(a) is ast.Constant else None for a in (*args, None)[:2])
            if type(k) is not int or k < 0 or kind not in (None, True, FUNCTION_HANDLE):
                raise WireError("a handle to no object of the candidate's")
            return caps[4](k, FUNCTION_HANDLE if kind == FUNCTION_HANDLE else kind is True)
        if name == "__fn__" and caps[5] is not None and len(args) in (2, 3, 4):
            k, label, own = (
                a.value if type(a) is ast.Constant else None for a in (*args, None)[:3]
            )
            if type(k) is not int or k < 0 or type(label) is not str or len(label) > 100:
                raise WireError("a function by no number of the other side's")
            if own not in (None, True, False) or (own and not label.isidentifier()):
                raise WireError("a function by no number of the other side's")
            if len(args) == 4 and own is False:
                return caps[5](k, label, meta=_function_meta(_dec(args[3], caps, ns)))
            return caps[5](k, label, True) if own else caps[5](k, label)
        if name == "__ref__" and caps[3] is not None and len(args) == 1:
            k = args[0].value if type(args[0]) is ast.Constant else None
            if type(k) is not int or not 0 <= k < len(caps[3]):
                raise WireError("a reference to no object of the graph")
            return caps[3][k]
        if caps[2] and name in _STDLIB_NAMES and 1 <= len(args) <= _STDLIB_ARGS.get(name, 3):
            return _make_stdlib(name, [_dec(a, caps, ns) for a in args], caps)
        if name == "float" and len(args) == 1 and type(args[0]) is ast.Constant:
            key = args[0].value
            if type(key) is str and key in _SPECIAL_FLOATS:
                return _SPECIAL_FLOATS[key]
        if name == "set" and not args:
            return set()
        if name == "frozenset" and len(args) <= 1:
            inner = _dec(args[0], caps, ns) if args else []
            if type(inner) not in (list, tuple, set):
                raise WireError("frozenset() takes a list literal")
            return frozenset(bounded_set(set(), inner))
    raise WireError(f"not a plain literal: {type(node).__name__}")


def _slot_names(cls):
    """The attributes the slots of ``cls`` and of its bases hold, by the names they are
    stored under (class ``Box``'s private ``__v`` as ``_Box__v``)."""
    names = []
    for klass in cls.__mro__:
        declared = klass.__dict__.get("__slots__", ())
        for n in [declared] if isinstance(declared, str) else declared:
            if type(n) is not str or n in ("__dict__", "__weakref__"):
                continue
            if n.startswith("__") and not n.endswith("__"):
                n = "_" + klass.__name__.lstrip("_") + n
            names.append(n)
    return names


def _obj_state(x):
    """An instance's attributes as a dict: the slots it has set (its bases' and private ones
    included), then its ``__dict__``; None for an object that has neither."""
    d = getattr(x, "__dict__", None)
    slots = _slot_names(type(x))
    if type(d) is not dict and not slots:
        return None
    state = {n: getattr(x, n) for n in slots if hasattr(x, n)}
    if type(d) is dict:
        state.update(d)
    return state


def _base_names(cls):
    """The names of the classes ``cls`` derives from, nearest first (``object`` and the
    standard library's left out; eight at most): the reader builds its own class of the first
    it knows where it lacks ``cls`` itself -- a checker's subclass of the prompt's class."""
    names = tuple(
        c.__name__
        for c in cls.__mro__[1:9]
        if c.__module__ not in ("builtins", "abc", "typing") and c.__name__.isidentifier()
    )
    return names


def _new_obj(ns, name, bases=()):
    """An instance, not yet initialised, of the class ``name`` that the code of namespace
    ``ns`` itself defined (the solution's, the checker's), or of a stand-in class: never a
    class it imported, whose slots a sender could fill with what its methods never expect.
    Made by ``object.__new__``, not the class's own ``__new__``: a singleton's would hand back
    the one shared instance for the sender to fill."""
    cls = _own_class(ns, name)
    if cls is None:
        base = next((b for b in map(lambda n: _own_class(ns, n), bases) if _quiet(b)), None)
        made = ns.setdefault("__wire_classes__", {})
        cls = made.get((name, base))
        if cls is None:
            try:
                body = {} if base else {"__getattr__": _stand_in_missing}
                cls = type(base)(name, (base,) if base else (), body)
                if getattr(cls, "__abstractmethods__", None):
                    # the prompt's abstract class: the sender's class had its methods, and the
                    # stand-in must exist to carry its data (isinstance of the prompt's base)
                    cls.__abstractmethods__ = frozenset()
            except TypeError:  # a base that cannot be derived from: a plain stand-in
                cls = type(name, (), {"__getattr__": _stand_in_missing})
            made[(name, base)] = cls
    return object.__new__(cls)


def _stand_in_missing(self, name):
    """A stand-in's missing attribute says why it is missing: the object crossed the checker
    proxy as its data alone ("the candidate raised AttributeError: 'Acct' object has no
    attribute 'deposit'" read as the candidate's own mistake)."""
    raise AttributeError(
        f"{type(self).__name__!r} object has no attribute {name!r} (it crossed between the "
        "checker and the solution as its data alone: the methods of a class stay on the side "
        "that defined it)"
    )


def _quiet(base):
    """Whether deriving a stand-in from ``base`` runs none of the reader's code: no metaclass
    but ``abc``'s (a prompt's abstract base), no ``__init_subclass__`` (a registry of
    subclasses would take the sender's class in)."""
    abc = sys.modules.get("abc")
    return (
        base is not None
        and (type(base) is type or (abc is not None and type(base) is abc.ABCMeta))
        and all("__init_subclass__" not in c.__dict__ for c in base.__mro__[:-1])
    )


def _own_class(ns, name):
    """The class ``name`` (or a dotted path of them: ``Card.Suit``, looked up in each class's
    own namespace, running nothing) that the code of namespace ``ns`` itself defined."""
    first, *rest = name.split(".", 4)
    cls = ns.get(first)
    for part in rest[:3]:
        cls = vars(cls).get(part) if isinstance(cls, type) else None
    ok = len(rest) <= 3 and isinstance(cls, type) and cls.__module__ == ns.get("__name__")
    return cls if ok else None


def _class_path(t):
    """``t``'s name as :func:`_own_class` finds it: its qualified name where it is nested in
    classes (an enumeration inside the prompt's class), else its name."""
    path = t.__qualname__
    parts = path.split(".") if type(path) is str else ()
    return path if 1 < len(parts) <= 4 and all(p.isidentifier() for p in parts) else t.__name__


def _set_attr(obj, name, value, slots):
    """One attribute into ``obj``: into its slot, else its ``__dict__`` (never through a
    property or ``__setattr__``, whose code the sender would be choosing to run)."""
    if name in slots:
        object.__setattr__(obj, name, value)
        return
    d = getattr(obj, "__dict__", None)
    if type(d) is not dict:
        raise WireError(f"{type(obj).__name__} has no attribute {name!r}")
    d[name] = value


def _dec_graph(node, caps, ns, graph):
    """An object graph (see :func:`encode_plain`): every object made first, uninitialised, so
    that ``__ref__`` can name any of them; then the attributes that hash nothing (numbers,
    strings, references), so that every object is whole where its hash depends on them
    (a dataclass in a set, a node in its neighbour's set); then the rest, from the table's
    last entry to its first, again in rounds while one waits for another's hash; the value
    last. The reader's own objects (``resolve``) take
    their new attributes of the first kind at once, so that a set built here hashes them as
    they are now; all their attributes wait in ``pending`` for the reader's in-place sync."""
    if len(node.args) != 2 or node.keywords or type(node.args[1]) is not ast.List:
        raise WireError("a __graph__ form takes a value and a list of objects")
    entries = node.args[1].elts
    resolve = graph.get("resolve")
    objects, origins, mine, fields = [], [], [], []
    for e in entries:
        parts = e.elts if type(e) is ast.Tuple else ()
        bases = ()
        if len(parts) == 4:  # and the names of its bases
            bases = tuple(
                b.value for b in getattr(parts[3], "elts", None) or () if type(b) is ast.Constant
            )
            if (
                type(parts[3]) is not ast.Tuple
                or len(bases) != len(parts[3].elts)
                or len(bases) > 8
            ):
                raise WireError("a graph object's bases are a tuple of names")
            if not all(type(b) is str and b.isidentifier() for b in bases):
                raise WireError("a graph object's bases are a tuple of names")
            parts = parts[:3]
        if len(parts) != 3 or type(parts[0]) is not ast.Constant:
            raise WireError("a graph's object is (class name, attributes, origin)")
        name, origin = parts[0].value, _origin(parts[2])
        if type(name) is not str or not name.isidentifier() or type(parts[1]) is not ast.Dict:
            raise WireError("a graph's object is (class name, attributes, origin)")
        if origin is not None and (type(origin) is not int or abs(origin) >= 1 << 62):
            raise WireError("a graph object's origin is a number or None")
        keys = parts[1].keys
        if not all(
            type(k) is ast.Constant and type(k.value) is str and k.value.isidentifier()
            for k in keys
        ) or len({k.value for k in keys}) != len(keys):
            raise WireError("an object's attributes are distinct identifiers")
        caps[0] -= 1 + len(keys)
        own = resolve(origin) if resolve is not None and origin is not None else None
        own = own if own is not None and type(own).__name__ == name else None
        objects.append(own if own is not None else _new_obj(ns, name, bases))
        origins.append(origin)
        mine.append(own is not None)
        fields.append(list(zip((k.value for k in keys), parts[1].values, strict=True)))
    caps[3] = objects
    states = [{} for _ in entries]
    base_of = graph.get("base")  # the reader's objects' states when they last crossed
    bases = [
        base_of(o) if m and base_of is not None else None
        for o, m in zip(objects, mine, strict=True)
    ]
    number_of = graph_numbers(objects, origins)
    strict = graph.get("strict")  # the reader's own numbering: both sides' changes must meet
    slots = [set(_slot_names(type(o))) for o in objects]
    later = []  # attributes that may hash: after every attribute that cannot
    for k, pairs in enumerate(fields):
        for name, value_node in pairs:
            if _may_hash(value_node):
                later.append((k, name, value_node))
                continue
            v = states[k][name] = _dec(value_node, caps, ns)
            if not mine[k] or type(v) not in (list, dict, set):  # theirs keep their containers
                if (
                    not mine[k]
                    or bases[k] is None
                    or bases[k].get(name, bases) != _fingerprint_of(v, number_of)
                ):
                    if strict is not None and mine[k] and bases[k] is not None:
                        _meets(objects[k], name, v, bases[k], number_of, strict)
                    _set_attr(objects[k], name, v, slots[k])  # unless the sender left it as it was
    later.reverse()
    while later:  # an attribute whose set hashes objects not yet whole waits for a next round
        failed = []
        for k, name, value_node in later:
            try:
                v = _dec(value_node, caps, ns)
            except WireError:
                raise  # malformed or over a cap: no later round changes that
            except Exception:  # a __hash__ reading an attribute not set yet
                failed.append((k, name, value_node))
                continue
            states[k][name] = v
            if not mine[k]:
                _set_attr(objects[k], name, v, slots[k])
        if len(failed) == len(later):
            raise WireError("objects whose hashes need attributes no order can set first")
        later = failed  # each round costs nodes (caps[0]): the rounds are bounded too
    for k, pairs in enumerate(fields):
        states[k] = {name: states[k][name] for name, _ in pairs}  # in the sender's order
        d = getattr(objects[k], "__dict__", None)
        if later and not mine[k] and type(d) is dict and list(d) != list(states[k]):
            ordered = {n: d[n] for n in states[k] if n in d}
            d.clear()
            d.update(ordered)
    value = _dec(node.args[0], caps, ns)
    pending = [(objects[k], states[k]) for k in range(len(entries)) if mine[k]]
    graph.update(objects=objects, origins=origins, pending=pending, states=states)
    return value


def _meets(obj, name, v, base, number_of, known):
    """Refuse to set ``obj.name = v`` (the sender changed it since it last crossed) where the
    reader changed it meanwhile too, otherwise: the reader's write would be lost (the
    checker's function set `n.status = 'bad'` while the candidate, calling it, had set
    'ok'; or deleted it). ``known`` numbers the reader's own values where ``number_of``, the
    graph's, does not."""

    def numbered(o):
        n = number_of(o)
        return known(o) if n is None else n

    was = base.get(name, _ABSENT_ATTR)
    mine = _fingerprint_of(getattr(obj, name), numbered) if hasattr(obj, name) else _ABSENT_ATTR
    if mine != was and mine != _fingerprint_of(v, numbered):
        raise WireError(
            f"its {type(obj).__name__}.{name} was changed meanwhile by the reader's code, and "
            "by the sender otherwise: the two cannot be merged"
        )


_ABSENT_ATTR = object()


def _origin(node):
    """A graph object's origin: None, or a number (the candidate's own are negative)."""
    if (
        type(node) is ast.UnaryOp
        and type(node.op) is ast.USub
        and type(node.operand) is ast.Constant
    ):
        value = node.operand.value
        if type(value) is int:
            return -value
    if type(node) is ast.Constant:
        return node.value
    raise WireError("a graph object's origin is a number or None")


def graph_numbers(objects, origins):
    """``object -> the number it crossed under`` for a decoded graph's objects."""
    known = {id(o): n for o, n in zip(objects, origins, strict=False) if type(n) is int}
    return lambda o: known.get(id(o))


def _fingerprint_of(v, number_of=None, depth=0):
    """A comparable summary of an attribute's value: containers by what they hold, an object
    by the number both ends of the proxy know it by (``number_of``; else by identity), so it
    is equal where the value did not change, whichever process made the object."""
    t = type(v)
    if v is None or t in (bool, int, float, complex, str, bytes):
        return (t, v)
    if depth > 40:
        return ("deep", id(v))

    def fp(x):
        return _fingerprint_of(x, number_of, depth + 1)

    name = stdlib_type(t)
    if t is list or t is tuple or name in ("deque", "bytearray"):
        return (t, tuple(map(fp, v)))
    if t is dict or name in ("OrderedDict", "Counter", "defaultdict"):
        return (t, tuple((fp(k), fp(x)) for k, x in v.items()))
    if t is set or t is frozenset:
        return (t, frozenset(map(fp, v)))
    if t is Handle:  # the candidate's object, by its number there
        return ("handle", object.__getattribute__(v, "_k"))
    n = number_of(v) if number_of is not None else None
    return ("object", id(v)) if n is None else ("number", n)


def _may_hash(node):
    """Whether decoding ``node`` may hash something: it holds a set, a dict or a call other
    than a reference (``frozenset([...])``, ``Counter({...})``)."""
    t = type(node)
    if t is ast.Constant or (
        t is ast.Call and type(node.func) is ast.Name and node.func.id == "__ref__"
    ):
        return False  # the common attributes, a node's value and its next node, unwalked
    for n in ast.walk(node):
        t = type(n)
        if t is ast.Set or t is ast.Dict:
            return True
        if t is ast.Call and not (type(n.func) is ast.Name and n.func.id == "__ref__"):
            return True
    return False


def _member(ns, args, caps):
    """A ``__member__(class, name, value, plain)`` form: the reader's own enumeration's member
    (by name; by value for a Flag's composite); where the reader has no such class, the
    value itself for a member that is an int or a str (an IntEnum crosses as its int, as it
    did before members crossed by name), else refused."""
    cname, name, plain = (
        args[i].value if type(args[i]) is ast.Constant else None for i in (0, 1, 3)
    )
    if type(cname) is not str or not (name is None or type(name) is str) or type(plain) is not bool:
        raise WireError("a member is (class name, member name, value, plain)")
    value = _dec(args[2], caps, ns)
    cls = _own_class(ns, cname)
    enum = sys.modules.get("enum")
    if cls is not None and enum is not None and issubclass(cls, enum.Enum):
        member = cls.__members__.get(name) if name is not None else None
        if member is not None:
            return member
        try:
            return cls(value)  # a Flag's composite, Perm(0)
        except Exception:
            raise WireError(f"{cname} has no member {name!r}") from None
    if plain and type(value) in (int, str, float):
        return value
    raise WireError(f"a member of {cname}, an enumeration the reader does not define")


def _is_named_tuple(t):
    fields = getattr(t, "_fields", None)
    return isinstance(fields, tuple) and all(type(f) is str for f in fields)


_MAX_FIELDS = 64
"""Most fields of a named tuple the reader builds a class for (more cross as a plain tuple)."""


def _named(ns, args, caps):
    """A ``__named__(class, values[, fields])`` form: the reader's own NamedTuple of that name
    made of the values (as a tuple is made: no code of the class runs); where the reader has no
    such class (the solution defined it), a ``collections.namedtuple`` of the same name and
    fields, so a checker reads ``result.lo`` as the solution's own code would (it compares as
    the tuple it is); else the plain tuple."""
    cname = args[0].value if type(args[0]) is ast.Constant else None
    values = _dec(args[1], caps, ns)
    fields = _dec(args[2], caps, ns) if len(args) == 3 else ()
    if type(cname) is not str or type(values) is not tuple or type(fields) is not tuple:
        raise WireError("a named tuple is (class name, tuple of values, field names)")
    cls = _own_class(ns, cname)
    if cls is not None and issubclass(cls, tuple) and _is_named_tuple(cls):
        if len(cls._fields) == len(values):
            return tuple.__new__(cls, values)
        return values
    if fields and len(fields) == len(values) <= _MAX_FIELDS:
        if all(type(f) is str and len(f) <= 100 for f in fields) and len(cname) <= 200:
            cls = _stand_in_named(ns, cname.rsplit(".", 1)[-1], fields)
            if cls is not None:
                return tuple.__new__(cls, values)
    return values


def _stand_in_named(ns, name, fields):
    """A named-tuple class the reader makes itself (cached per job's namespace), or None where
    ``collections.namedtuple`` refuses the names (a keyword, a leading underscore: the value
    crosses as its plain tuple, as before)."""
    made = ns.setdefault("__wire_classes__", {})
    key = ("named", name, fields)
    if key not in made:
        if sum(k[0] == "named" for k in made) >= _MAX_FIELDS:  # a class each costs ~50 us
            return None
        import collections

        try:
            made[key] = collections.namedtuple(name, fields)
        except (ValueError, TypeError):
            made[key] = None
    return made[key]


def _hash(v):
    try:
        return hash(v)
    except TypeError:
        raise WireError(f"unhashable {type(v).__name__} in a set or dict key") from None


# Keys that all hash alike (ints that differ by multiples of 2**61 - 1, tuples of them) make
# each insertion walk every earlier key: n keys cost n**2 / 2 comparisons. Counting the
# distinct keys per hash value, and refusing past MAX_SAME_HASH, keeps building a set or dict
# (and every later lookup in it) linear. Legitimate data has a handful at most (-1 and -2).


def bounded_set(out, items):
    """``out`` with ``items`` added, refusing (:class:`WireError`) more than
    ``MAX_SAME_HASH`` distinct ones of one hash value."""
    seen = {}
    for v in items:
        h = _hash(v)
        n = len(out)
        out.add(v)
        if len(out) > n:
            c = seen[h] = seen.get(h, 0) + 1
            if c > MAX_SAME_HASH:
                raise WireError(f"more than {MAX_SAME_HASH} set elements share one hash value")
    return out


def bounded_dict(pairs):
    """A dict of ``pairs``, refusing more than ``MAX_SAME_HASH`` distinct keys of one hash."""
    out, seen = {}, {}
    for k, v in pairs:
        h = _hash(k)
        n = len(out)
        out[k] = v
        if len(out) > n:
            c = seen[h] = seen.get(h, 0) + 1
            if c > MAX_SAME_HASH:
                raise WireError(f"more than {MAX_SAME_HASH} dict keys share one hash value")
    return out


# What a literal's parse costs is set by its tokens, not its characters: a megabyte string is
# one token, a megabyte of "1," half a million. ``token_count`` counts them cheaply (regular
# expressions, C speed) so that text over a token cap is refused before it is parsed.
#
# The count caps the parse only if it never counts fewer tokens than Python's tokenizer reads,
# so it cuts the text where the tokenizer does: a string ends where Python's ends (escapes,
# triple quotes, a line's end: "\n", "\r" or "\r\n"), a comment at its line's end, a number
# where Python's number ends ("1or 1" is three tokens, "1j.imag.imag" five). And its patterns
# never fail half-way to be retried further on (a string with no closing quote runs to its
# line's end; with triple quotes, to the text's) nor backtrack (possessive), so each character
# is scanned once: the time is linear in the text, whatever it holds.
_BODY = (  # a string after its opening quote
    r"(?<=')''(?:\\[^\r]|[^'\\]++|\\\r\n?|'(?!''))*+(?:'''|\\?\Z)"
    r'|(?<=")""(?:\\[^\r]|[^"\\]++|\\\r\n?|"(?!""))*+(?:"""|\\?\Z)'
    r"|(?<=')(?:\\[^\r]|[^'\\\r\n]++|\\\r\n?)*+'?"
    r'|(?<=")(?:\\[^\r]|[^"\\\r\n]++|\\\r\n?)*+"?'
)
_STRINGS = re.compile(r"""['"](?:""" + _BODY + r")|\#[^\r\n]*")  # strings and comments
_NUMBER = (  # as far as Python reads a number (further only where Python stops with an error)
    r"0[xXoObB][0-9a-fA-F_]*"
    r"|(?:[0-9][0-9_]*(?:\.[0-9_]*)?|\.[0-9][0-9_]*)(?:[eE][+-]?[0-9_]*)?[jJ]?"
)
_WORDS = re.compile(_NUMBER + r"|[A-Za-z_]\w*")

# One token at a time, as token_count counts them: a string or comment, a number or name, or
# any other character that is not whitespace (strings are tried first, as token_count
# replaces them first).
_TOKEN = re.compile(_STRINGS.pattern + "|" + _WORDS.pattern + r"|\S")
# ... and a run of whitespace as one match, not counted: tried at every blank, the pattern
# above cost 40 ms a megabyte of them, and a value padded with blanks still parses (red team
# 25: 1.5 s of the host's CPU for 1,000 such tests, and the solution passed)
_SCAN = re.compile(r"(\s+)|" + _TOKEN.pattern)
_SCAN_BELOW = 20_000
"""Caps under which ``token_count(text, stop)`` walks the tokens and stops past the cap: a
megabyte of text checked against an expected output's cap of a hundred tokens costs
microseconds, not the 0.17 s of counting all of it."""


def token_count(text, stop=None):
    """About how many tokens ``text`` has (strings, comments, numbers and names count one each,
    a string's prefix as a name, every other character one), never fewer than Python's
    tokenizer reads. Equal values written by :func:`encode_plain` and by hand differ by under
    a factor of 2 (``frozenset([])`` against ``frozenset()``, ``(1+2j)`` against ``1+2j``),
    whatever their numbers' digits or their strings' escapes. Linear in the text, whatever it
    holds.

    With ``stop``, counting may end once the count is past it: the result is then some number
    greater than ``stop`` (exact whenever it is ``stop`` or fewer). ``token_count(t, cap) >
    cap`` is the cheap way to ask whether ``t`` is over a cap."""
    if stop is not None and stop < _SCAN_BELOW:
        n = 0
        for m in _SCAN.finditer(text):
            if m.group(1) is None:
                n += 1
                if n > stop:
                    break
    else:
        s = _STRINGS.sub("'", text) if "'" in text or '"' in text or "#" in text else text
        s = _WORDS.sub("0", s)
        # str.split's whitespace is re's \s (both Py_UNICODE_ISSPACE), at a third of sub's cost
        n = len("".join(s.split()))
    return n


# An f-string (or a t-string) is never plain data, and Python 3.11 parses an f-string's fields
# in time quadratic in their number (40,000 "{1}" fields: 2 s; a megabyte of them: 110 s),
# whatever the token cap, as the whole f-string is one token: it is refused by its prefix, in
# linear time, before the parser runs. Where Python reads one, the code around the strings and
# comments (each cut to a quote) has a quote after f, t, fr, rf, tr or rt, at a name's start.
_FT_QUOTE = re.compile(r"""[fFtT][rR]?['"]""")  # anywhere: none in most text, found fast
_FT_STRING = re.compile(r"'(?<=(?<!\w)[fFtT]')|'(?<=(?<!\w)[fFtT][rR]')|'(?<=(?<!\w)[rR][fFtT]')")


def _templated(text):
    """Whether Python would read an f-string or a t-string in ``text``."""
    if ("'" not in text and '"' not in text) or _FT_QUOTE.search(text) is None:
        return False
    return _FT_STRING.search(_STRINGS.sub("'", text)) is not None


# Python warns of some text it parses ("1or 2": an invalid decimal literal; "'\d'": an invalid
# escape), once per occurrence, and the default action prints each one (the parser passes no
# registry to remember them by): a candidate's value could write a line to the host's stderr
# for every few of its tokens. What is parsed here is data that no one will run or edit, so the
# warnings of its pseudo-file are dropped; filters set with -W or by a test still come first.
_FILE = "<wire>"
warnings.filterwarnings("ignore", module=re.escape(_FILE) + r"\Z", append=True)


# Text that JSON reads exactly as Python would: digits, signs, points, exponents, brackets.
_NUMERIC_JSON = re.compile(r"[\[\]0-9eE.,+\- ]+")
_SIMPLE_STR = re.compile(r"'[^'\\\n\r]*'")  # a quoted string with no escapes
_FAST = {"True": (True,), "False": (False,), "None": (None,), "()": ((),), "''": ("",)}


def decode_plain(
    text,
    namespace=None,
    max_tokens=MAX_TOKENS,
    max_int_bits=MAX_INT_BITS,
    stdlib=False,
    graph=None,
    handles=None,
    functions=None,
):
    """Parse literal text into exact builtin values, failing closed (:class:`WireError`).

    Never calls ``eval``: the text is parsed to a syntax tree and only literal nodes are built.
    ``namespace`` (only at the checker proxy's two ends) lets the object graphs that
    ``encode_plain(..., objects=True)`` writes rebuild objects of the classes that namespace's
    own code defined (or of stand-ins); without it they are refused. ``graph``, a dict, gets
    the graph's objects (``"objects"``, in table order) and origins (``"origins"``); where it
    holds ``"resolve"``, a function from an origin to the reader's object known by it (or
    None), an entry whose origin names one of the same class *is* that object: its new attributes are not set but left, with it, in
    ``"pending"`` (``(object, attributes)`` pairs) for the reader to apply in place; every
    object's attributes as decoded are in ``"states"``. ``handles`` (the candidate's process,
    for the checker proxy's arguments): the objects that ``__handle__(k)`` names.
    ``functions`` (the checker proxy's two ends): ``(k, name)`` -> the function that
    ``__fn__(k, name)`` names (raising :class:`WireError` for a number never sent), and
    ``(k, name, True)`` -> the reader's own object ``k``'s method; without it the form is
    refused.

    Every failure is a :class:`WireError`, whatever raised it (an overflow, a class's
    ``__new__``): a value that cannot be read is the sender's fault, never the reader's.
    Cost is linear in the text and capped: at most ``max_tokens`` tokens are parsed (see
    :func:`token_count`), ints have at most ``max_int_bits`` bits (``MAX_INT_BITS``: every
    one prints in decimal; a checker's judge, which compares and never prints, takes
    ``JUDGE_INT_BITS``, sent in hex past 4,300 digits), no set or dict has more
    than ``MAX_SAME_HASH`` keys with one hash value, and an f-string (never plain data, and
    quadratic to parse) is refused before the parser runs.

    ``stdlib=True`` (the checker proxy's two ends, never the verifier's own process) also
    reads the standard library's forms ``encode_plain(..., stdlib=True)`` writes.
    """
    if type(text) is not str:
        raise WireError("value text must be a string")
    if len(text) > MAX_TEXT:
        raise WireError(f"value text is {len(text)} characters, over the {MAX_TEXT} cap")
    if len(text) > max_tokens and token_count(text, max_tokens) > max_tokens:
        raise TooManyTokens(f"value text has more than {max_tokens} tokens")
    fast = _FAST.get(text)
    if fast is not None:
        return fast[0]
    # Short numbers and lists of them: the C JSON parser reads them exactly as Python would;
    # short and shallow, so the caps below cannot be reached this way.
    if len(text) <= 4096 and text.count("[") <= 32 and _NUMERIC_JSON.fullmatch(text):
        try:
            return json.loads(text)
        except ValueError:
            pass  # not JSON after all (a leading zero, a lone sign): the literal parser decides
    if _SIMPLE_STR.fullmatch(text):
        return text[1:-1]
    if _templated(text):
        raise WireError("an f-string or t-string is not plain data")
    try:
        tree = ast.parse(text.strip(), _FILE, "eval")
        caps = [MAX_NODES, max_int_bits, stdlib, None, handles, functions]
        body = tree.body
        if (
            namespace is not None
            and type(body) is ast.Call
            and type(body.func) is ast.Name
            and body.func.id == "__graph__"
        ):
            return _dec_graph(body, caps, namespace, {} if graph is None else graph)
        return _dec(body, caps, namespace)
    except WireError:
        raise
    except BaseException as e:  # an overflow, a recursion, a candidate class's __new__: refused
        if not isinstance(e, Exception | RecursionError | MemoryError):
            raise  # KeyboardInterrupt, SystemExit: not about the value
        raise WireError(f"not a plain literal ({type(e).__name__}: {_why(e)})") from None


def _why(e):
    try:
        return str(e)[:80]
    except Exception:
        return "?"


def plain_equal(a, b, tol=None, budget=None):
    """Python's ``==`` on decoded plain data, except that NaN never equals anything and, where
    ``tol`` is set, two finite numbers are equal when ``abs(a - b) <= tol`` (complex ones
    too; inside lists, tuples, dict values and sets alike). Never raises: what cannot be
    compared is unequal.

    ``budget``: a one-item list of work units (:data:`COMPARE_BUDGET`'s kind) that this
    comparison spends from and leaves the rest of, so that the comparisons of one verdict can
    share one bound; by default a fresh ``[COMPARE_BUDGET]``.
    """
    if budget is None:
        budget = [COMPARE_BUDGET]
    try:
        # every element is compared with one somewhere in the other value (list and tuple
        # items, dict values, set elements in the pairing), so a NaN anywhere makes them
        # unequal: checked once here, not again for each set compared inside a search
        if contains_nan(a) or contains_nan(b):
            return False
        return _equal(a, b, tol, budget)
    except Exception:  # an overflow, a recursion, the budget: a value that cannot be compared
        return False  # is not equal


_NUM = (int, float, bool)
COMPARE_BUDGET = 1 << 19
"""Work one :func:`plain_equal` may spend, in comparisons (each call of ``_equal``) and set
and dict elements hashed, nested values and every set's search included: past it the values
are unequal. A value of the decoder's 200,000 nodes compared whole, its sets paired in sorted
order, spends under half of it; what a tolerant search of sets that do not sort could spend
beyond that (quadratic, and multiplied by nesting) is what it bounds."""


class _OverBudget(Exception):
    pass


def _equal(a, b, tol, budget):
    budget[0] -= 1
    if budget[0] < 0:
        raise _OverBudget
    ta, tb = type(a), type(b)
    if ta in _NUM and tb in _NUM:
        if ta is float or tb is float:
            if (ta is float and math.isnan(a)) or (tb is float and math.isnan(b)):
                return False
            if (ta is float and math.isinf(a)) or (tb is float and math.isinf(b)):
                return a == b
            if tol is not None:
                try:
                    return abs(a - b) <= tol
                except OverflowError:  # an int too large for a float is not close to one
                    return False
        return a == b  # exact, for ints of any size too
    if ta is complex or tb is complex:
        if ta not in (int, float, complex) or tb not in (int, float, complex):
            return False
        a, b = complex(a), complex(b)
        if tol is None or not (cmath.isfinite(a) and cmath.isfinite(b)):
            return a == b
        return abs(a - b) <= tol  # the distance, as for reals (not each part within tol)
    if ta is not tb and not ({ta, tb} <= {set, frozenset}):
        return False
    if ta is list or ta is tuple:
        if len(a) != len(b):
            return False
        return all(_equal(x, y, tol, budget) for x, y in zip(a, b, strict=False))
    if ta is dict:
        budget[0] -= len(a)  # the keys hashed
        if a.keys() != b.keys():
            return False
        return all(_equal(a[k], b[k], tol, budget) for k in a)
    if ta in (set, frozenset):
        budget[0] -= len(a)  # the elements hashed
        if len(a) != len(b):
            return False
        if tol is None:
            return a == b
        return _sets_close(a, b, tol, budget)
    return a == b


def _order_key(v, depth=0):
    """A sort key for any plain value: numbers by value (complex by real, then imaginary part),
    then strings, bytes, None, tuples and sets element by element -- so that set elements of
    mixed kinds, ``(1, 0.5)`` beside ``('a', 0.5)``, sort where ``<`` would refuse."""
    t = type(v)
    if t in _NUM:
        return (0, v, 0)
    if t is complex:
        return (0, v.real, v.imag)
    if t is str:
        return (1, v)
    if t is bytes:
        return (2, v)
    if v is None:
        return (3,)
    if depth > 50:
        raise TypeError("too deep to order")
    if t is tuple:
        return (4, tuple(_order_key(x, depth + 1) for x in v))
    if t is frozenset:
        return (5, tuple(sorted(_order_key(x, depth + 1) for x in v)))
    raise TypeError(f"{t.__name__} has no order here")


def _sets_close(a, b, tol, budget):
    """Equal sets under a tolerance: a one-to-one pairing of close elements. Exact matches
    pair first; left-over reals pair in sorted order (optimal on a line); anything else is
    tried in sorted order too (tuples of numbers, say, or in :func:`_order_key`'s total order
    where ``<`` refuses: a pairing found is a proof, in O(n log n)), and when that pairing
    fails, greedily, near each element's own place first. Every comparison is charged to
    ``budget`` (:data:`COMPARE_BUDGET`, shared by the whole comparison): past it the sets
    are unequal, a false rejection only for values whose sets pair only after a long search."""
    left, right = a - b, b - a
    if not left:
        return True
    budget[0] -= len(left)  # the sorts (in C: cheaper than the pairing that follows)
    try:
        xs, ys = sorted(left), sorted(right)
    except TypeError:  # elements that do not compare (a str and an int, complex numbers):
        try:  # in a total order of plain data instead, so that they still pair in O(n log n)
            budget[0] -= 2 * len(left)  # the keys
            xs, ys = sorted(left, key=_order_key), sorted(right, key=_order_key)
        except Exception:
            xs = ys = None
    if xs is not None:
        if all(_equal(x, y, tol, budget) for x, y in zip(xs, ys, strict=True)):
            return True
        if all(type(x) in _NUM for x in left) and all(type(y) in _NUM for y in right):
            return False  # on a line sorted order is the best pairing there is
    if xs is None:
        xs, ys = list(left), list(right)
    # Greedily, each element with the first close one, looked for first near its own place in
    # sorted order (noise within the tolerance reorders only elements that are close anyway:
    # ties in a tuple's first item), then everywhere; an element with no partner ends it.
    # The scan everywhere walks free slots only (``after[j]``: the first free slot at or past
    # j, path-halved as slots are taken; slot j is free while ``after[j] == j``), so its work
    # is the comparisons charged to the budget; skipping taken slots one by one was O(n^2)
    # uncharged work (seconds at 20,000).
    n = len(ys)
    after = list(range(n + 1))

    def first_free(j):
        while after[j] != j:
            after[j] = after[after[j]]
            j = after[j]
        return j

    for k, x in enumerate(xs):
        near = (i for d in range(_NEAR) for i in (k + d, k - d - 1) if 0 <= i < n)
        for j in near:
            if after[j] == j and _equal(x, ys[j], tol, budget):
                break
        else:
            j = first_free(0)
            while j < n and not _equal(x, ys[j], tol, budget):
                j = first_free(j + 1)
            if j == n:
                return False
        after[j] = j + 1
    return True


_NEAR = 8
"""How far from its own place in sorted order a set element's partner is looked for first."""


_SCALARS = frozenset({int, bool, str, bytes, type(None)})


def contains_nan(v, depth=0):
    """Whether a decoded value holds a NaN anywhere (complex parts included). An object is
    not looked into: a graph's objects may be cyclic or 10,000 deep, and the reader of one
    checks each object's attributes on their own (``decode_plain``'s ``graph``)."""
    t = type(v)
    if t is float:
        return v != v
    if t in _SCALARS:
        return False
    if t is complex:
        return v.real != v.real or v.imag != v.imag
    if depth > 200:
        return False
    if t in (list, tuple, set, frozenset):
        return any(contains_nan(x, depth + 1) for x in v)
    if t is dict:
        return any(contains_nan(k, depth + 1) or contains_nan(x, depth + 1) for k, x in v.items())
    name = stdlib_type(t)
    if name is not None:
        if name == "Decimal":
            return v.is_nan()
        if name == "deque":
            return any(contains_nan(x, depth + 1) for x in v)
        if name in ("OrderedDict", "Counter", "defaultdict"):
            return any(
                contains_nan(k, depth + 1) or contains_nan(x, depth + 1) for k, x in v.items()
            )
        return False  # Fraction, bytearray
    if t in _VIEWS:
        return any(contains_nan(x, depth + 1) for x in v)
    # a subclass of a builtin the reader built (a named tuple, the prompt's list): its items,
    # read through the builtin's own methods, none of the class's -- a named tuple holding
    # NaN passed `assert not abs(r[0] - y) > eps` where a plain tuple was refused (red team 22)
    if isinstance(v, float):
        return float.__ne__(v, v)
    if isinstance(v, complex):
        re, im = complex.real.__get__(v), complex.imag.__get__(v)
        return re != re or im != im
    for base in (tuple, list, set, frozenset):
        if isinstance(v, base):
            return any(contains_nan(x, depth + 1) for x in base.__iter__(v))
    if isinstance(v, dict):
        return any(
            contains_nan(k, depth + 1) or contains_nan(x, depth + 1) for k, x in dict.items(v)
        )
    return False  # an object: a graph's reader checks each object's attributes on their own


# -- frames ---------------------------------------------------------------------------------


def frame_bytes(obj):
    """One JSON object as the bytes of its length-prefixed frame."""
    data = json.dumps(obj, ensure_ascii=False).encode("utf-8", "surrogatepass")
    return _HDR.pack(len(data)) + data


def write_frame(fd, obj):
    """Write one JSON object as a length-prefixed frame, retrying short writes."""
    write_all(fd, frame_bytes(obj))


def write_all(fd, data):
    """Write ``data`` whole, retrying short writes."""
    buf = memoryview(data)
    while buf:
        n = os.write(fd, buf)
        buf = buf[n:]


def read_exact(fd, n):
    """Read exactly n bytes, or return fewer at end of file."""
    chunks, got = [], 0
    while got < n:
        b = os.read(fd, n - got)
        if not b:
            break
        chunks.append(b)
        got += len(b)
    return b"".join(chunks)


def read_frame(fd, max_bytes=MAX_FRAME):
    """Read one frame; None at a clean end of file; :class:`WireError` on anything malformed."""
    hdr = read_exact(fd, 4)
    if not hdr:
        return None
    if len(hdr) < 4:
        raise WireError("truncated frame header")
    (n,) = _HDR.unpack(hdr)
    if n > max_bytes:
        raise WireError(f"frame of {n} bytes is over the {max_bytes}-byte cap")
    data = read_exact(fd, n)
    if len(data) < n:
        raise WireError("truncated frame")
    return decode_frame(data)


FRAME_STRINGS = 1024
"""Most strings in a frame a job writes: the harness's most, an exception's reply with 64
attributes and 8 classes, has under 200."""
FRAME_CONTAINERS = 64
"""Most JSON arrays and objects in a frame a job writes, outside its strings (values cross as
literal text, inside one string): the harness's most has 11."""
FRAME_SURROGATES = 8192
"""Most lone surrogates (UTF-8's ``ED A0``-``ED BF`` lead pairs) in a frame a job writes: only
the text of an exception or a load error carries one (a value's text escapes them), 1,600
characters at most. Decoding calls its error handler once for each: 4 MiB of them cost the
host ~0.25 s, ~80 times the same bytes of ASCII (red team 25)."""
_SURROGATE = re.compile(rb"\xed[\xa0-\xbf]")
FRAME_COMMAS = 2 * FRAME_STRINGS + FRAME_CONTAINERS
"""Most commas in a frame a job writes, outside its strings: every member of a harness's object
has a string key and every element of its arrays is a string or an array, so it has no more.
A flat array of numbers is one container and no string: 4 MiB of ``1e9,`` cost ``json.loads``
~0.25 s, ~15 times what the same bytes in a string do (what the result budget is priced in),
for every test of a verdict."""


def frame_shape_problem(data):
    """Why ``data``, a frame a job wrote, cannot be one its harness wrote -- more strings,
    arrays and objects, elements outside strings or lone surrogates than any of them holds --
    or None. Linear and in C (byte counts, one split, a regex): ``json.loads`` of a 4 MiB
    frame of nested empty arrays built a million containers and cost the verifier's process
    ~0.5 s, once for every test of a verdict.

    Exact for every prefix of ``data`` that is valid JSON (there a backslash is only ever the
    start of an escape inside a string), which is as far as ``json.loads`` ever builds."""
    flat = data.replace(b"\\\\", b"").replace(b'\\"', b"")
    if flat.count(b'"') > 2 * FRAME_STRINGS:
        return f"frame holds more than {FRAME_STRINGS} strings"
    outside = flat.split(b'"')[0::2]
    if sum(part.count(b"[") + part.count(b"{") for part in outside) > FRAME_CONTAINERS:
        return f"frame holds more than {FRAME_CONTAINERS} arrays and objects"
    if sum(part.count(b",") for part in outside) > FRAME_COMMAS:
        return f"frame holds more than {FRAME_COMMAS} elements outside its strings"
    # Hangul shares the lead byte: counted exactly only past the cap, and only to one beyond
    if data.count(b"\xed") > FRAME_SURROGATES and (
        sum(1 for _ in itertools.islice(_SURROGATE.finditer(data), FRAME_SURROGATES + 1))
        > FRAME_SURROGATES
    ):
        return f"frame holds more than {FRAME_SURROGATES} lone surrogates"
    return None


def decode_frame(data, from_job=False):
    """A frame's body as a JSON object, or :class:`WireError`. With ``from_job`` (a frame a
    job wrote, which candidate code may have forged), refused unparsed when its shape is
    not one the harness writes (:func:`frame_shape_problem`)."""
    problem = frame_shape_problem(data) if from_job else None
    if problem:
        raise WireError(problem)
    try:
        obj = json.loads(data.decode("utf-8", "surrogatepass"))
    except (ValueError, RecursionError) as e:
        raise WireError(f"frame is not JSON ({type(e).__name__})") from None
    if type(obj) is not dict:
        raise WireError("frame is not a JSON object")
    return obj
