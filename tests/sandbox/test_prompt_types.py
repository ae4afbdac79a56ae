"""What a class task's prompt says by its annotations, read as Python resolves them (the
checker proxy's typing of what the solution's objects may stand for)."""

import ast
from pathlib import Path

import pytest

from closedloop.sandbox import prompt_types
from closedloop.sandbox.prompt_types import Position, PromptTypes


def prompt(source: str, entry: str) -> PromptTypes:
    namespace = {"__name__": "__judge__"}  # as the judge runs a prompt
    exec(source, namespace)
    return PromptTypes(namespace[entry], namespace)


@pytest.mark.parametrize(
    "annotation, position",
    [
        ("float", Position.DATA),
        ("list[int]", Position.DATA),
        ("dict[str, tuple[int, ...]]", Position.DATA),
        ("Optional[int]", Position.DATA),
        ("Iterator[int]", Position.DATA),
        ("Literal['a', 'b']", Position.DATA),
        ("'V'", Position.CLASS),
        ("list['V']", Position.CLASS),
        ("'int | V'", Position.UNKNOWN),  # the object may stand for the int there
        ("'dict[V, list[V]]'", Position.CLASS),
        ("Optional['V']", Position.CLASS),
        ("'G[int]'", Position.CLASS),  # a generic base of the prompt's, parametrised
        ("TT", Position.CLASS),  # a TypeVar bound by name to the class
        ("Rank", Position.UNKNOWN),  # another class of the prompt's says nothing of it
        ("'tuple[int, Rank]'", Position.UNKNOWN),
        ("Self", Position.CLASS),
        ("list", Position.UNKNOWN),  # a bare container may hold the class
        ("Any", Position.UNKNOWN),
        ("object", Position.UNKNOWN),
        ("None", Position.UNKNOWN),  # a chaining method may return self unseen
        ("T", Position.UNKNOWN),
        ("'Missing'", Position.UNKNOWN),  # names nothing the prompt holds
        ("Callable[[int], int]", Position.UNKNOWN),
    ],
)
def test_a_results_annotation_places_the_classs_objects(annotation, position):
    types = prompt(
        "import enum\nfrom typing import *\nT = TypeVar('T')\nclass G(Generic[T]):\n    pass\n"
        "class Rank(enum.IntEnum):\n    ACE = 1\nTT = TypeVar('TT', bound='V')\n"
        f"class V(G[int]):\n    def m(self) -> {annotation}:\n        pass\n",
        "V",
    )
    assert types.returned("m") is position
    assert types.returned("undeclared") is Position.UNKNOWN


@pytest.mark.parametrize("name", ["Fraction", "Decimal", "Complex", "Number", "Real"])
def test_a_prompts_class_is_itself_whatever_its_name(name):
    # Names were matched as text: a prompt's own `Fraction` read as data (a correct `__add__
    # -> "Fraction"` was refused) and a `Complex` as a number (an always-equal `__eq__` met
    # the checker's expected 2).
    types = prompt(
        f"class {name}:\n    def __add__(self, other: '{name}') -> '{name}':\n        pass\n"
        f"    def __eq__(self, other: '{name}') -> bool:\n        pass\n",
        name,
    )
    assert types.returned("__add__") is Position.CLASS
    assert not types.admits_numbers("__add__") and not types.admits_numbers("__eq__")


@pytest.mark.parametrize(
    "source, operator, admits",
    [
        ("def __mul__(self, k: float): pass", "__mul__", True),
        ("def __mul__(self, k: 'V | int'): pass", "__mul__", True),
        ("def __mul__(self, k: numbers.Real): pass", "__mul__", True),
        ("def __mul__(self, k: SupportsFloat): pass", "__mul__", True),
        ("def __mul__(self, k: Scalar): pass", "__mul__", True),  # an alias, resolved
        ("def __mul__(self, k: Fraction): pass", "__mul__", True),
        ("def __eq__(self, other: object): pass", "__eq__", True),  # mypy's __eq__
        ("def __eq__(self, other: object): pass", "__ne__", True),
        ("def __mul__(self, k: float): pass", "__rmul__", True),  # mirrored
        ("def __lt__(self, other: 'V | int'): pass", "__ge__", True),  # total_ordering's
        ("def __mul__(self, k: 'V'): pass", "__mul__", False),
        ("def __mul__(self, k): pass", "__mul__", False),
        ("def __mul__(self, k: str): pass", "__mul__", False),
        ("def __mul__(self: float, k): pass", "__mul__", False),  # self's is no operand's
    ],
)
def test_an_operand_admits_numbers_only_where_its_annotation_resolves_to_one(
    source, operator, admits
):
    types = prompt(
        "from __future__ import annotations\nimport numbers, functools\n"
        "from fractions import Fraction\nfrom typing import SupportsFloat, Union\n"
        "Scalar = Union[int, float]\n"
        + "@functools.total_ordering\n" * (operator == "__ge__")
        + f"class V:\n    {source}\n",
        "V",
    )
    assert types.admits_numbers(operator) is admits


def test_attributes_and_properties_are_placed_by_their_annotations():
    types = prompt(
        "class Base:\n    size: int\nclass V(Base):\n    kids: list['V']\n    tag = 3\n"
        "    @property\n    def norm(self) -> float:\n        pass\n",
        "V",
    )
    assert types.attribute("size") is Position.DATA  # a base's
    assert types.attribute("kids") is Position.CLASS
    assert types.attribute("norm") is Position.DATA
    assert types.attribute("tag") is Position.UNKNOWN


def test_the_sandboxs_modules_share_no_top_level_name():
    # The worker runs wire.py, prompt_types.py and _inside.py as one module: a name bound
    # in two of them would silently rebind the other's.
    here = Path(prompt_types.__file__).parent
    seen: dict[str, str] = {}
    for name in ("wire.py", "prompt_types.py", "_inside.py"):
        for node in ast.parse((here / name).read_text()).body:
            if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
                bound = {node.name}
            elif isinstance(node, (ast.Assign, ast.AnnAssign)):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                bound = {n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)}
            else:
                continue
            for b in bound:
                assert seen.setdefault(b, name) == name, f"{b} is bound in {seen[b]} and {name}"
