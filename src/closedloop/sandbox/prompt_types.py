"""What a class task's prompt says, by its type annotations, about the values its solution's
objects may stand for.

The checker proxy (``_inside.serve_judge``) holds a class-based solution's objects as handles.
Where the prompt types a method's result, an attribute or an iterator's items as plain data
(``-> float``, ``Iterator[int]``), the solution's object cannot be there; where it types an
operator's operand as a number (``other: Rational | int``), the checker's numbers may reach
that operator. This module answers both questions for one prompt class.

It reads annotations only by resolving them (``typing.get_type_hints`` against the prompt's own
namespace, so ``from __future__ import annotations`` and aliases such as ``Scalar = Union[int,
float]`` read as they mean), never by their text: a prompt's own class named ``Fraction``,
``Complex`` or ``Number`` is that class, not the standard library's. What cannot be resolved
says nothing (``Position.UNKNOWN``, no numbers).

It must never run the candidate's code or import anything but the standard library: its
source goes to the sandbox's judge between ``wire.py``'s and ``_inside.py``'s, and it runs
there on the prompt's class only.
"""

import collections
import collections.abc
import enum
import sys
import types
import typing


class Position(enum.IntEnum):
    """What a place a value comes from (a method's result, an attribute, an iterator's items)
    is annotated as holding, from the most to the least permissive for the solution's objects.
    """

    CLASS = 0  # a class the prompt defines, or what may hold one: its objects belong here
    UNKNOWN = 1  # no annotation, Any, object, a TypeVar, None alone, or one that cannot resolve
    DATA = 2  # nothing but plain data (float, str, list[int]): its objects never belong here


# The operators Python derives from others, and the reflected and in-place ones, whose
# annotations a prompt gives once: an unannotated one reads as the first annotated source.
_ORDERING = ("__lt__", "__le__", "__gt__", "__ge__")
_SOURCES = {
    "__ne__": ("__eq__",),
    "__iter__": ("__getitem__",),
    "__reversed__": ("__iter__", "__getitem__"),
    "__str__": ("__repr__",),
    **{name: tuple(n for n in _ORDERING if n != name) for name in _ORDERING},
}
for _op in ("add", "sub", "mul", "matmul", "truediv", "floordiv", "mod", "divmod", "pow"):
    _SOURCES[f"__r{_op}__"] = (f"__{_op}__",)
    _SOURCES[f"__i{_op}__"] = (f"__{_op}__",)
for _op in ("lshift", "rshift", "and", "xor", "or"):
    _SOURCES[f"__r{_op}__"] = (f"__{_op}__",)
    _SOURCES[f"__i{_op}__"] = (f"__{_op}__",)
del _op

_NO_HINT = object()  # no annotation at all
_UNRESOLVED_HINT = object()  # an annotation that names what the prompt's namespace does not hold


class PromptTypes:
    """The annotations of one prompt class ``cls``, resolved against ``namespace`` (the
    prompt's globals as the prompt left them), each answer computed once.

    >>> class V:
    ...     def __mul__(self, k: "float") -> "V": ...
    ...     def norm(self) -> float: ...
    >>> t = PromptTypes(V, {"V": V})
    >>> t.admits_numbers("__mul__"), t.admits_numbers("__rmul__"), t.returned("norm")
    (True, True, <Position.DATA: 2>)
    """

    def __init__(self, cls: type, namespace: dict) -> None:
        self.cls, self.namespace = cls, namespace
        self.module = namespace.get("__name__", "__judge__")  # the prompt's classes'
        self._answers: dict = {}

    def returned(self, name: str) -> Position:
        """Where the result of the method or operator ``name`` may put the class's objects."""
        return self._once(
            ("returned", name), lambda: position_of(self._hint(name, "return"), self.module)
        )

    def attribute(self, name: str) -> Position:
        """Where the attribute or property ``name`` may put them (its annotation on the class
        or a base, a property's return)."""
        return self._once(
            ("attribute", name), lambda: position_of(self._attribute_hint(name), self.module)
        )

    def admits_numbers(self, name: str) -> bool:
        """Whether the operand of the operator ``name`` is annotated as possibly a number
        (``int``, ``float | Vector``, ``numbers.Real``, ``SupportsFloat``, and ``object`` or
        ``Any``, which say any value may come: ``__eq__(self, other: object)`` is how a typed
        class declares equality); never a class of the prompt's, whatever its name, and not
        where the operator has no annotation."""
        return self._once(("numbers", name), lambda: admits_number(self._hint(name, 1)))

    def _once(self, key, compute):
        if key not in self._answers:
            self._answers[key] = compute()
        return self._answers[key]

    def _hint(self, name, which):
        """The resolved annotation of ``name``'s result (``which="return"``) or of its
        parameter ``which`` (a position, after ``self``); an operator without one reads as
        the operator it is derived from or mirrors."""
        for source in (name, *_SOURCES.get(name, ())):
            owner, fn = declared(self.cls, source)
            fn = getattr(fn, "__func__", fn)  # a class or static method's function
            key = which if which == "return" else _parameter(fn, which)
            if key is None:
                continue
            hint = self._resolve(getattr(fn, "__annotations__", None), key, owner)
            if hint is not _NO_HINT:
                return hint
        return _NO_HINT

    def _attribute_hint(self, name):
        for c in self.cls.__mro__[:-1]:
            own = vars(c)
            hint = self._resolve(own.get("__annotations__"), name, c)
            if hint is not _NO_HINT:
                return hint
            if isinstance(own.get(name), property):
                return self._resolve(getattr(own[name].fget, "__annotations__", None), "return", c)
        return _NO_HINT

    def _resolve(self, annotations, key, owner):
        if not isinstance(annotations, dict) or key not in annotations:
            return _NO_HINT
        holder = types.SimpleNamespace(__annotations__={key: annotations[key]})
        local = {k: v for k, v in vars(owner).items() if isinstance(v, type)} if owner else {}
        try:
            return typing.get_type_hints(holder, self.namespace, local)[key]
        except Exception:  # a name the prompt never defined, a string that is no expression
            return _UNRESOLVED_HINT


def declared(cls: type, name: str) -> tuple:
    """``(the class, what it binds to name)`` for the first of the prompt's class and its
    bases besides ``object`` that binds ``name``; ``(None, None)`` where none does."""
    for c in cls.__mro__[:-1]:
        if name in vars(c):
            return c, vars(c)[name]
    return None, None


def _parameter(fn, index):
    """The name of ``fn``'s positional parameter ``index`` (0 is ``self``), if it has one."""
    code = getattr(fn, "__code__", None)
    if code is None or code.co_argcount <= index:
        return None
    return code.co_varnames[index]


def position_of(hint, module: str = "__judge__") -> Position:
    """Where a resolved annotation may put the objects of the classes defined in ``module``
    (the prompt's; see :class:`Position`)."""
    if hint is _NO_HINT or hint is _UNRESOLVED_HINT or hint is None or hint is type(None):
        return Position.UNKNOWN  # None alone: a method that returns self for chaining unseen
    return _position(hint, module, 0)


def _position(hint, module, depth):
    if depth > 20:
        return Position.UNKNOWN
    if hint is typing.Self:
        return Position.CLASS
    if isinstance(hint, typing.TypeVar):
        bound = hint.__bound__
        if bound is not None and _position(bound, module, depth + 1) == Position.CLASS:
            return Position.CLASS
        return Position.UNKNOWN
    supertype = getattr(hint, "__supertype__", None)  # typing.NewType
    if supertype is not None:
        return _position(supertype, module, depth + 1)
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin is typing.Literal:
        return Position.DATA
    if origin in (typing.Annotated, typing.ClassVar, typing.Final) and args:
        return _position(args[0], module, depth + 1)
    if origin in (typing.Union, types.UnionType):
        parts = [a for a in args if a is not type(None)]
        return _combined(parts, module, depth) if parts else Position.UNKNOWN
    if origin is not None:
        if getattr(origin, "__module__", None) == module:
            return Position.CLASS  # a generic class of the prompt's, parametrised: Stack[int]
        if origin not in _CONTAINERS or not args:
            return Position.UNKNOWN
        return _combined([a for a in args if a is not Ellipsis], module, depth)
    if isinstance(hint, type):
        if getattr(hint, "__module__", None) == module:
            return Position.CLASS
        if hint in _DATA_TYPES or hint in _more_data_types():
            return Position.DATA
    return Position.UNKNOWN  # Any, object, a bare container (it may hold the class), Callable


def _combined(parts, module, depth):
    kinds = [Position.DATA if a is type(None) else _position(a, module, depth + 1) for a in parts]
    if Position.CLASS in kinds:
        return Position.CLASS
    return Position.DATA if all(k == Position.DATA for k in kinds) else Position.UNKNOWN


_DATA_TYPES = frozenset({int, float, complex, bool, str, bytes, bytearray, range})
_CONTAINERS = frozenset(
    {list, dict, set, frozenset, tuple}
    | {collections.deque, collections.Counter, collections.OrderedDict, collections.defaultdict}
    | {collections.ChainMap}
    | {
        getattr(collections.abc, n)
        for n in (
            "Iterable",
            "Iterator",
            "Generator",
            "Reversible",
            "Container",
            "Collection",
            "Sequence",
            "MutableSequence",
            "Set",
            "MutableSet",
            "Mapping",
            "MutableMapping",
            "KeysView",
            "ValuesView",
            "ItemsView",
        )
    }
)


def _more_data_types():
    """The standard library's exact numbers, where the process has them (the judge preloads
    both): a prompt's annotation can only name them if it imported them."""
    found = set()
    for module, name in (("fractions", "Fraction"), ("decimal", "Decimal")):
        if module in sys.modules:
            found.add(getattr(sys.modules[module], name))
    return found


def admits_number(hint) -> bool:
    """Whether a resolved operand annotation may be a number: ``int``, ``float``, ``complex``,
    ``bool``, ``Fraction``, ``Decimal``, a ``numbers`` ABC or a ``typing.Supports*`` protocol
    of a number, ``object`` or ``Any``, or a union, literal or type variable holding one -- by
    identity, never by name."""
    return _admits(hint, 0)


def _admits(hint, depth):
    if hint is _NO_HINT or hint is _UNRESOLVED_HINT or depth > 20:
        return False
    if isinstance(hint, typing.TypeVar):
        options = (*hint.__constraints__, hint.__bound__)
        return any(_admits(o, depth + 1) for o in options if o is not None)
    supertype = getattr(hint, "__supertype__", None)
    if supertype is not None:
        return _admits(supertype, depth + 1)
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin is typing.Literal:
        return any(type(a) in (int, float, complex, bool) for a in args)
    if origin is typing.Annotated and args:
        return _admits(args[0], depth + 1)
    if origin in (typing.Union, types.UnionType):
        return any(_admits(a, depth + 1) for a in args)
    try:
        return hint in _number_types()
    except TypeError:  # unhashable: no type
        return False


def _number_types():
    found = {int, float, complex, bool, object, typing.Any, typing.SupportsFloat}
    found |= {typing.SupportsInt}
    found |= {typing.SupportsIndex, typing.SupportsComplex, typing.SupportsAbs}
    found |= _more_data_types()
    numbers = sys.modules.get("numbers")  # fractions imports it; the judge preloads fractions
    if numbers is not None:
        found |= {numbers.Number, numbers.Complex, numbers.Real, numbers.Rational}
        found.add(numbers.Integral)
    return found
