"""What a class task's prompt says, by its type annotations, about the values its solution's
objects may stand for.

The checker proxy (``_inside.serve_judge``) holds a class-based solution's objects as handles.
Where the prompt types a method's result, an attribute or an iterator's items as plain data
(``-> float``, ``tuple[int, Rational]``'s first item, ``Iterator[int]``), the solution's
object cannot be there; where it types an operator's operand as a number (``other: Rational |
int``), the checker's numbers may reach that operator. This module answers both questions for
one prompt class, and walks a value the candidate sent along its annotation so that each of
the solution's objects in it is judged by the place it sits in (:meth:`PromptTypes.walk`).

It reads annotations only by resolving them (``typing.get_type_hints`` against the prompt's own
namespace, so ``from __future__ import annotations`` and aliases such as ``Scalar = Union[int,
float]`` read as they mean), never by their text: a prompt's own class named ``Fraction``,
``Complex`` or ``Number`` is that class, not the standard library's. What cannot be resolved
says nothing (``Position.UNKNOWN``, no numbers).

It must never run the candidate's code or import anything but the standard library: its
source goes to the sandbox's judge between ``wire.py``'s and ``_inside.py``'s, and it runs
there on the prompt's classes and the values the checker holds.
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

    CLASS = 0  # the solution's class (a base, a subclass), or a container of nothing else
    UNKNOWN = 1  # no annotation, Any, object, a TypeVar, None alone, another class, unresolved
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

NO_HINT = object()  # no annotation at all
_UNRESOLVED_HINT = object()  # an annotation that names what the prompt's namespace does not hold
_WALK_NODES = 200_000  # a walk looks at no more of a value than this; the rest is unplaced


class PromptTypes:
    """The annotations of the prompt's class ``cls`` (the task's entry point), resolved
    against ``namespace`` (the prompt's globals as the prompt left them), each answer
    computed once.

    >>> class V:
    ...     def __mul__(self, k: "float") -> "V": ...
    ...     def norm(self) -> float: ...
    >>> t = PromptTypes(V, {"V": V, "__name__": __name__})
    >>> t.admits_numbers("__mul__"), t.admits_numbers("__rmul__"), t.returned("norm")
    (True, True, <Position.DATA: 2>)
    """

    def __init__(self, cls: type, namespace: dict) -> None:
        self.cls, self.namespace = cls, namespace
        self.module = namespace.get("__name__", "__judge__")  # the prompt's classes'
        self._answers: dict = {}

    def result_hint(self, name: str):
        """The resolved annotation of the result of the method or operator ``name``
        (:data:`NO_HINT` where it has none)."""
        return self._once(("result", name), lambda: self._hint(self.cls, name, "return"))

    def attribute_hint(self, name: str, cls: type | None = None):
        """The resolved annotation of the attribute or property ``name`` of ``cls`` (the
        entry class by default; a base's counts), or :data:`NO_HINT`."""
        cls = self.cls if cls is None else cls
        return self._once(("attribute", cls, name), lambda: self._attribute_hint(cls, name))

    def parameter_hints(self, name: str) -> tuple:
        """``(the resolved annotations of the positional parameters of the method name
        after self, by position; all of them by name)``; :data:`NO_HINT` where none."""
        return self._once(("parameters", name), lambda: self._parameter_hints(name))

    def _parameter_hints(self, name):
        owner, raw = declared(self.cls, name)
        fn = getattr(raw, "__func__", raw)
        code = getattr(fn, "__code__", None)
        if code is None:
            return [], {}
        skip = 0 if isinstance(raw, staticmethod) else 1
        names = code.co_varnames[: code.co_argcount + code.co_kwonlyargcount]
        annotations = getattr(fn, "__annotations__", None)
        by_name = {n: self._resolve(annotations, n, owner) for n in names[skip:]}
        return [by_name[n] for n in code.co_varnames[skip : code.co_argcount]], by_name

    def returned(self, name: str) -> Position:
        """Where the result of the method or operator ``name`` may put the class's objects."""
        return self.position(self.result_hint(name))

    def attribute(self, name: str) -> Position:
        """Where the attribute or property ``name`` may put them."""
        return self.position(self.attribute_hint(name))

    def admits_numbers(self, name: str) -> bool:
        """Whether the operand of the operator ``name`` is annotated as possibly a number
        (``int``, ``float | Vector``, ``numbers.Real``, ``SupportsFloat``, and ``object`` or
        ``Any``, which say any value may come: ``__eq__(self, other: object)`` is how a typed
        class declares equality; an ``@overload`` of it admitting one); never a class of the
        prompt's, whatever its name, and not where the operator has no annotation."""
        return self._once(("numbers", name), lambda: self._admits_numbers(name))

    def position(self, hint) -> Position:
        """Where a resolved annotation may put the class's objects (see :class:`Position`)."""
        if hint is NO_HINT or hint is _UNRESOLVED_HINT or hint is None or hint is type(None):
            return Position.UNKNOWN  # None alone: a method that returns self for chaining unseen
        try:
            return self._once(("position", hint), lambda: self._position(hint, 0))
        except TypeError:  # an unhashable annotation
            return self._position(hint, 0)

    def items_hint(self, hint):
        """What an iterator found where ``hint`` is declared yields: ``Iterator[int]``'s
        ``int``, a ``tuple[int, int]``'s ``int`` (a generator returned for it), data for
        data; nothing known otherwise."""
        hint = self._bare(hint)
        origin, args = typing.get_origin(hint), typing.get_args(hint)
        if origin in _SEQUENCES and args:
            return args[0]
        if origin is tuple and args:
            parts = [a for a in args if a is not Ellipsis]
            return parts[0] if len(set(parts)) == 1 else typing.Union[tuple(parts)]  # noqa: UP007
        if origin in _MAPPINGS and args:
            return args[0]
        return hint if self.position(hint) == Position.DATA else NO_HINT

    def walk(self, value, hint, visit, is_handle, done=None, holder=None) -> None:
        """Call ``visit(x, hint_there, spot)`` for each of the solution's objects
        (``is_handle``; ``spot`` says where it sits: ``(id of its container, "item")``, a
        dict's ``"key"`` or ``"value"`` of a key, an object's ``"attribute"`` of a name, and
        ``holder`` at the top)
        that ``value`` holds where ``hint`` says what it holds: a list's items by the list's
        item type, a tuple's by position, a dict's keys and values, an iterator's items (a
        list where the iterator came whole), the attributes of an object of a prompt class by
        that class's annotations. What the annotation does not reach is not visited; each
        object is walked once under each annotation, and the walk ends once ``done()``."""
        walk = _Walk(visit, is_handle, done or (lambda: False))
        self._walk(value, hint, walk, 0, holder)

    def _walk(self, value, hint, walk, depth, holder):
        walk.budget -= 1
        if walk.budget < 0 or depth > 60 or walk.done():
            return
        if walk.is_handle(value):
            walk.visit(value, hint, holder)
            return
        if isinstance(value, (str, bytes, int, float, complex, type(None))):
            return
        key = (id(value), id(hint))
        if key in walk.seen:  # a shared node, a cycle: once is enough
            return
        walk.seen.add(key)
        hint = self._bare(hint)
        if hint is NO_HINT or hint is _UNRESOLVED_HINT:
            return
        origin, args = typing.get_origin(hint), typing.get_args(hint)
        if origin in (typing.Union, types.UnionType):
            fits = [a for a in args if self._fits(value, a)]
            if len(fits) == 1:
                self._walk(value, fits[0], walk, depth + 1, holder)
            return
        step, here = depth + 1, id(value)
        item = (here, "item")  # a set's; a sequence's items are named by index
        if isinstance(value, (list, set, frozenset, collections.deque)) or type(value) is tuple:
            if origin is tuple and args and args[-1] is not Ellipsis:
                if len(args) == len(value):
                    for i, (x, at) in enumerate(zip(value, args, strict=True)):
                        self._walk(x, at, walk, step, (here, "item", i))
                return
            if origin in _SEQUENCES or origin is tuple:
                at = args[0] if args else NO_HINT
                unordered = isinstance(value, (set, frozenset))
                for i, x in enumerate(value):
                    self._walk(x, at, walk, step, item if unordered else (here, "item", i))
            return
        if isinstance(value, dict):
            if origin in _MAPPINGS and args:
                key, val = args[0], (args[1] if len(args) > 1 else int)  # Counter[K]
                for k, v in value.items():
                    self._walk(k, key, walk, step, (here, "key"))
                    self._walk(v, val, walk, step, (here, "value", slot_key(k)))
            return
        cls = type(value)
        if cls.__module__ == self.module and _is_instance(value, hint):
            named = isinstance(value, tuple)  # a NamedTuple's fields are its items
            for i, (name, attr) in enumerate(_fields_of(value, cls)):
                spot = (here, "item", i) if named else (here, "attribute", name)
                self._walk(attr, self.attribute_hint(name, cls), walk, step, spot)

    def _fits(self, value, hint):
        """Whether ``value`` could be what the union member ``hint`` declares (a list for
        ``list[int]``, an object for its class): the one a walk follows."""
        hint = self._bare(hint)
        origin = typing.get_origin(hint) or hint
        if origin in (list, set, frozenset, tuple, dict, collections.deque):
            return isinstance(value, origin) and (origin is not tuple or type(value) is tuple)
        if origin in _SEQUENCES:
            return isinstance(value, (list, tuple, set, frozenset, collections.deque))
        if origin in _MAPPINGS:
            return isinstance(value, dict)
        return _is_instance(value, origin)

    def _bare(self, hint):
        """``hint`` without ``Annotated``, ``ClassVar``, ``Final`` or ``NewType``."""
        for _ in range(10):
            origin, args = typing.get_origin(hint), typing.get_args(hint)
            if origin in (typing.Annotated, typing.ClassVar, typing.Final) and args:
                hint = args[0]
            elif getattr(hint, "__supertype__", None) is not None:
                hint = hint.__supertype__
            else:
                break
        return hint

    def _position(self, hint, depth):
        if depth > 20:
            return Position.UNKNOWN
        hint = self._bare(hint)
        if hint is typing.Self:
            return Position.CLASS
        if isinstance(hint, typing.TypeVar):
            bound = self._typevar_bound(hint)
            if bound is not None and self._position(bound, depth + 1) == Position.CLASS:
                return Position.CLASS
            return Position.UNKNOWN
        origin, args = typing.get_origin(hint), typing.get_args(hint)
        if origin is typing.Literal:
            return Position.DATA
        if origin in (typing.Union, types.UnionType):
            parts = [a for a in args if a is not type(None)]
            return self._combined(parts, depth) if parts else Position.UNKNOWN
        if origin is not None:
            if getattr(origin, "__module__", None) == self.module:  # a generic class: Stack[int]
                return self._class_position(origin)
            if origin not in _CONTAINERS or not args:
                return Position.UNKNOWN
            return self._combined([a for a in args if a is not Ellipsis], depth)
        if isinstance(hint, type):
            if hint.__module__ == self.module:
                return self._class_position(hint)
            if hint in _DATA_TYPES or hint in _more_data_types():
                return Position.DATA
        return Position.UNKNOWN  # Any, object, a bare container (it may hold the class), Callable

    def _class_position(self, cls):
        """The solution's class, a base or a subclass of it may be its object; another class
        of the prompt's (an enumeration, a record) says nothing about it, nor a Protocol the
        class does not name as its base (an int may fit it as well)."""
        if getattr(cls, "_is_protocol", False):  # a number may fit it as well as the class
            named = cls in self.cls.__mro__ and not _data_fits(cls)
            return Position.CLASS if named else Position.UNKNOWN
        try:
            related = issubclass(self.cls, cls) or issubclass(cls, self.cls)
        except TypeError:
            related = False
        return Position.CLASS if related else Position.UNKNOWN

    def _combined(self, parts, depth):
        """A union, or a container's parts: the class only where every part may be it (a
        place typed ``int | Rational`` may hold the object standing for the int), data where
        every part is data."""
        kinds = {Position.DATA if a is type(None) else self._position(a, depth + 1) for a in parts}
        return kinds.pop() if len(kinds) == 1 else Position.UNKNOWN

    def _typevar_bound(self, var):
        return self._forward(var.__bound__)

    def _forward(self, ref):
        """A TypeVar's bound or constraint named by a string, which nothing resolves:
        ``TypeVar("T", bound="Temp")``, ``TypeVar("N", "int", "float")``."""
        if isinstance(ref, typing.ForwardRef):
            try:
                return eval(ref.__forward_arg__, dict(self.namespace))  # noqa: S307 - the prompt's
            except Exception:
                return None
        return ref

    def _admits_numbers(self, name):
        for source in (name, *_SOURCES.get(name, ())):
            owner, fn = declared(self.cls, source)
            fn = getattr(fn, "__func__", fn)
            versions = [fn, *_overloads(fn)]
            hints = [self._parameter_hint(f, 1, owner) for f in versions]
            hints = [h for h in hints if h is not NO_HINT]
            if hints:
                return any(self._admits(h, 0) for h in hints)
        return False

    def _admits(self, hint, depth):
        if hint is NO_HINT or hint is _UNRESOLVED_HINT or depth > 20:
            return False
        hint = self._bare(hint)
        if isinstance(hint, typing.TypeVar):
            options = (*map(self._forward, hint.__constraints__), self._typevar_bound(hint))
            return any(self._admits(o, depth + 1) for o in options if o is not None)
        origin, args = typing.get_origin(hint), typing.get_args(hint)
        if origin is typing.Literal:
            return any(type(a) in (int, float, complex, bool) for a in args)
        if origin in (typing.Union, types.UnionType):
            return any(self._admits(a, depth + 1) for a in args)
        try:
            return hint in _number_types()
        except TypeError:  # unhashable: no type
            return False

    def _once(self, key, compute):
        if key not in self._answers:
            self._answers[key] = compute()
        return self._answers[key]

    def _hint(self, cls, name, which):
        """The resolved annotation of ``name``'s result (``which="return"``); an operator
        without one reads as the operator it is derived from or mirrors."""
        for source in (name, *_SOURCES.get(name, ())):
            owner, fn = declared(cls, source)
            fn = getattr(fn, "__func__", fn)  # a class or static method's function
            hint = self._resolve(getattr(fn, "__annotations__", None), which, owner)
            if hint is not NO_HINT:
                return hint
        return NO_HINT

    def _parameter_hint(self, fn, index, owner):
        key = _parameter(fn, index)
        if key is None:
            return NO_HINT
        return self._resolve(getattr(fn, "__annotations__", None), key, owner)

    def _attribute_hint(self, cls, name):
        for c in cls.__mro__[:-1]:
            own = vars(c)
            hint = self._resolve(own.get("__annotations__"), name, c)
            if hint is not NO_HINT:
                return hint
            if isinstance(own.get(name), property):
                return self._resolve(getattr(own[name].fget, "__annotations__", None), "return", c)
        return NO_HINT

    def _resolve(self, annotations, key, owner):
        if not isinstance(annotations, dict) or key not in annotations:
            return NO_HINT
        holder = types.SimpleNamespace(__annotations__={key: annotations[key]})
        local = {k: v for k, v in vars(owner).items() if isinstance(v, type)} if owner else {}
        try:
            return typing.get_type_hints(holder, self.namespace, local)[key]
        except Exception:  # a name the prompt never defined, a string that is no expression
            return _UNRESOLVED_HINT


def slot_key(key):
    """A dict key as a spot names it (and a tuple of the checker's as the list sync matches
    it): plain data by value (a tuple of ints too: a dict the call rebuilt has new key
    objects), anything else by identity (its own ``__eq__`` or ``__hash__`` never runs);
    a float by its exact bits (-0.0 is not 0.0)."""
    if type(key) is float:
        return ("float", key.hex())
    if type(key) is tuple:  # item by item: a decoded tuple of the same objects is that tuple
        return ("tuple", tuple(slot_key(v) for v in key))
    return (type(key).__name__, key) if _plain(key, 0) else ("id", id(key))


def _plain(x, depth):
    if type(x) in (str, int, float, bool, bytes, type(None)):
        return True
    if type(x) in (tuple, frozenset) and depth < 10 and len(x) <= 64:
        return all(_plain(v, depth + 1) for v in x)
    return False


class _Walk:
    """One walk's callbacks, its budget and what it has seen."""

    def __init__(self, visit, is_handle, done):
        self.visit, self.is_handle, self.done = visit, is_handle, done
        self.budget, self.seen = _WALK_NODES, set()


def _is_instance(value, cls):
    """``isinstance`` that says no where the annotation is no class it can check (a Protocol
    not runtime-checkable, a TypedDict, ``Any``)."""
    try:
        return isinstance(cls, type) and isinstance(value, cls)
    except TypeError:
        return False


def _fields_of(value, cls):
    """``(name, value)`` of an object of a prompt's class: its ``__dict__``, its slots (a
    ``@dataclass(slots=True)``), a NamedTuple's fields."""
    fields = getattr(cls, "_fields", None)
    if isinstance(value, tuple) and isinstance(fields, tuple):
        return list(zip(fields, tuple.__iter__(value), strict=False))
    state = getattr(value, "__dict__", None)
    found = list(state.items()) if isinstance(state, dict) else []
    for c in cls.__mro__:
        slots = vars(c).get("__slots__", ())
        for name in (slots,) if isinstance(slots, str) else slots:
            if type(name) is str and name not in ("__dict__", "__weakref__"):
                try:
                    found.append((name, object.__getattribute__(value, name)))
                except AttributeError:
                    pass
    return found


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


def _data_fits(protocol):
    """Whether a builtin data type has every member ``protocol`` asks for (an int fits a
    ``Comparable``'s ``__lt__``): its place may then hold data."""
    try:
        wanted = typing._get_protocol_attrs(protocol)  # noqa: SLF001 - no public way in 3.11
    except Exception:
        return True
    data = (int, float, complex, bool, str, bytes, list, tuple, dict, set, frozenset)
    data += tuple(_more_data_types())
    datetime = sys.modules.get("datetime")
    if datetime is not None:
        data += (datetime.date, datetime.datetime, datetime.time, datetime.timedelta)
    return any(all(hasattr(t, name) for name in wanted) for t in data)


def _overloads(fn):
    """The ``@typing.overload`` signatures declared for ``fn`` (Python 3.11 keeps them)."""
    try:
        return list(typing.get_overloads(fn)) if fn is not None else []
    except Exception:
        return []


_DATA_TYPES = frozenset({int, float, complex, bool, str, bytes, bytearray, range})
_SEQUENCES = frozenset(
    {list, set, frozenset, collections.deque}
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
            "KeysView",
            "ValuesView",
        )
    }
)
_MAPPINGS = frozenset(
    {dict, collections.OrderedDict, collections.defaultdict, collections.Counter}
    | {collections.ChainMap, collections.abc.Mapping, collections.abc.MutableMapping}
)
_CONTAINERS = _SEQUENCES | _MAPPINGS | {tuple, collections.abc.ItemsView}


def _more_data_types():
    """The standard library's exact numbers, where the process has them (the judge preloads
    both): a prompt's annotation can only name them if it imported them."""
    found = set()
    for module, name in (("fractions", "Fraction"), ("decimal", "Decimal")):
        if module in sys.modules:
            found.add(getattr(sys.modules[module], name))
    return found


def _number_types():
    found = {int, float, complex, bool, object, typing.Any, typing.SupportsFloat}
    found |= {typing.SupportsInt, typing.SupportsIndex, typing.SupportsComplex}
    found |= {typing.SupportsAbs} | _more_data_types()
    numbers = sys.modules.get("numbers")  # fractions imports it; the judge preloads fractions
    if numbers is not None:
        found |= {numbers.Number, numbers.Complex, numbers.Real, numbers.Rational}
        found.add(numbers.Integral)
    return found
