"""Fingerprints see through renaming; diversity figures detect collapse."""

from __future__ import annotations

import math

from closedloop.tasks.fingerprint import (
    Fingerprint,
    clusters,
    diversity,
    find_duplicates,
    fingerprint_task,
    fingerprint_tasks,
    is_near_duplicate,
    structure_of,
)
from closedloop.tasks.importers import import_humaneval
from closedloop.tasks.importers.reasoning_gym import import_reasoning_gym

LOOP = "def f(xs):\n    out = []\n    for x in xs:\n        if x > 0:\n            out.append(x * 2)\n    return out\n"
LOOP_RENAMED = '''def g(values):
    """Double the positive values."""
    result = []
    for v in values:
        if v > 0:
            result.append(v * 2)
    return result
'''


def test_structure_ignores_names_and_docstrings() -> None:
    assert structure_of(LOOP)[0] == structure_of(LOOP_RENAMED)[0]
    assert structure_of(LOOP)[0] != structure_of(LOOP.replace("x > 0", "x < 0"))[0]


def test_equivalent_code_has_equal_behaviour(verifier, make_task) -> None:
    a = make_task(example_solution="def f(xs):\n    return sorted(xs)\n")
    b = make_task(
        instruction="Sort it.",
        example_solution="def f(xs):\n    ys = list(xs)\n    ys.sort()\n    return ys\n",
    )
    c = make_task(example_solution="def f(xs):\n    return sorted(xs, reverse=True)\n")
    fa, fb, fc = (fingerprint_task(t, verifier) for t in (a, b, c))
    assert fa.behaviour and fa.behaviour == fb.behaviour != fc.behaviour
    assert fa.structure != fb.structure
    assert is_near_duplicate(fa, fb) and not is_near_duplicate(fa, fc)


def test_fingerprints_in_parallel_equal_one_by_one(verifier, make_task) -> None:
    tasks = [
        make_task(example_solution="def f(xs):\n    return sorted(xs)\n"),
        make_task(example_solution="def f(xs):\n    return xs[::-1]\n"),
        make_task(example_solution="def f(xs):\n    raise ValueError\n"),  # io: stands in
        make_task(example_solution=None),
    ]
    many = fingerprint_tasks(tasks, verifier)
    assert many == [fingerprint_task(t, verifier) for t in tasks]
    assert many[0].behaviour != many[1].behaviour
    assert many[2].behaviour.startswith("io:") and many[3].behaviour.startswith("io:")
    assert fingerprint_tasks([], verifier) == []


def test_fingerprint_without_verifier_uses_io_pairs(make_task) -> None:
    fp = fingerprint_task(make_task(example_solution=None))
    assert fp.behaviour.startswith("io:") and fp.structure == ""


def test_fingerprint_json_round_trip() -> None:
    fp = Fingerprint("b", "s", frozenset({1, 2}))
    assert Fingerprint.from_json(fp.to_json()) == fp


def test_collapsed_pool_has_one_cluster() -> None:
    s, sh = structure_of(LOOP)
    fps = [Fingerprint(f"b{i}", s, sh) for i in range(10)]
    d = diversity(fps)
    assert d.clusters == 1 and d.largest_cluster_share == 1.0 and d.entropy_bits == 0.0
    assert d.distinct == 10


def test_humaneval_pool_is_diverse() -> None:
    fps = [fingerprint_task(t) for t in import_humaneval()]
    d = diversity(fps)
    assert d.tasks == 164 and d.clusters > 150 and d.largest_cluster_share < 0.05
    assert 0.95 < d.normalized_entropy <= 1.0


def test_entropy_matches_cluster_sizes() -> None:
    fps = [Fingerprint("a", "", frozenset())] * 2 + [Fingerprint("b", "", frozenset())] * 2
    assert clusters(fps) == [0, 0, 2, 2]
    assert math.isclose(diversity(fps).entropy_bits, 1.0)


def test_list_functions_tasks_have_distinct_fingerprints() -> None:
    tasks = import_reasoning_gym("list_functions", size=30, seed=5)
    fps = [fingerprint_task(t) for t in tasks]
    assert diversity(fps).distinct == 30  # distinct I/O pairs, no example solutions


def test_find_duplicates_points_at_the_first_copy() -> None:
    s, sh = structure_of(LOOP)
    a, b = Fingerprint("x", s, sh), Fingerprint("y", *structure_of(LOOP_RENAMED))
    other = Fingerprint("z", *structure_of("def f(a, b):\n    return {a: b}\n"))
    assert find_duplicates([("new1", b), ("new2", other)], [("old", a)]) == {"new1": "old"}
