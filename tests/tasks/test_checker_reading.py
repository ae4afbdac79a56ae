"""A checker's asserted (input, expected output) pairs are read by folding literals, within
bounds that hold against a hostile checker."""

from __future__ import annotations

import pytest

from closedloop.tasks.checker_reading import checker_calls


def _read(checker: str) -> dict[str, tuple]:
    return {
        c.input: (c.output, c.alternatives, c.tolerance)
        for c in checker_calls("def check(candidate):\n" + checker)
    }


def test_expected_values_are_folded_from_literals_and_named_tables() -> None:
    calls = _read(
        "    assert candidate([3, 5, 7]) == (3 + 5 + 7, 3 * 5 * 7)\n"
        "    assert candidate('ab' * 2) == -2 ** 3 // 3\n"
        "    expected = {'x': [1, 2][::-1], 'y': len('abc')}\n"
        "    for k in sorted(expected):\n"
        "        assert candidate(k) == expected[k]\n"
        "    for i, (a, b) in enumerate(zip([1, 2], [10, 20]), start=1):\n"
        "        assert candidate(a, b) == a * b + i\n"
        "    r = candidate(0)\n"
        "    assert r == 7\n"
    )
    assert calls == {
        "([3, 5, 7],)": ("(15, 105)", (), None),
        "('abab',)": ("-3", (), None),
        "('x',)": ("[2, 1]", (), None),
        "('y',)": ("3", (), None),
        "(1, 10)": ("11", (), None),
        "(2, 20)": ("42", (), None),
        "(0,)": ("7", (), None),
    }


def test_approximate_forms_carry_their_tolerance() -> None:
    calls = _read(
        "    assert abs(candidate(1) - 1/3) < 1e-6\n"
        "    assert round(candidate(2), 2) == 0.67\n"
        "    assert math.isclose(candidate(3), 1.0)\n"
        "    assert np.allclose([0.5, 1.5], candidate(4), atol=0.01, rtol=0)\n"
        "    assert candidate(5) in (1, 2)\n"
        "    assert str(candidate(6)) == '6.5'\n"
    )
    assert calls["(1,)"] == ("0.3333333333333333", (), (1e-6, 0.0))
    assert calls["(2,)"][0] == "0.67" and calls["(2,)"][2] == pytest.approx((0.005, 0.0))
    assert calls["(3,)"] == ("1.0", (), (0.0, 1e-9))
    assert calls["(4,)"] == ("[0.5, 1.5]", (), (0.01, 0.0))
    assert calls["(5,)"] == ("1", ("2",), None)
    assert calls["(6,)"] == ("6.5", ("'6.5'",), None)


def test_what_is_not_asserted_or_not_known_is_no_expected_value() -> None:
    calls = _read(
        "    assert not (candidate(1) == 2)\n"
        "    assert candidate(2) == 3 or candidate(2) == 4\n"
        "    xs = [3, 1, 2]\n"
        "    xs.sort()\n"
        "    assert candidate(xs) == 1\n"
        "    str = lambda v: 'x'\n"
        "    assert str(candidate(3)) == '5'\n"
        "    n = 1\n"
        "    for _ in range(3):\n"
        "        assert candidate(n, 0) == 0\n"
        "        n += 1\n"
        "    assert candidate(4) in range(100)\n"
    )
    assert calls == {
        "(1,)": (None, (), None),
        "(2,)": (None, (), None),
        "(3,)": (None, (), None),
        "(4,)": (None, (), None),
    }


def test_folding_refuses_huge_values_and_stops_on_huge_checkers() -> None:
    import time

    t0 = time.monotonic()
    calls = _read(
        "    assert candidate('a' * 10**9) == 1\n"
        "    assert candidate(10**10**10) == 1\n"
        "    assert candidate(1) == 9**9**9\n"
        "    assert candidate(2) == '%0999999999d' % 1\n"
        "    for i in range(10**9):\n"
        "        assert candidate(i) == i\n"
        "    assert candidate(__import__('os').getpid()) == 1\n"
    )
    assert calls == {"(1,)": (None, (), None), "(2,)": (None, (), None)}
    many = "".join(f"    for i{k} in range(1000):\n" + "    " * (k + 1) for k in range(3))
    calls = _read(many + "    assert candidate(i0, i1, i2) == 0\n")
    assert 0 < len(calls) < 1000**3
    assert time.monotonic() - t0 < 20


def test_folding_weighs_what_a_value_holds_and_bounds_rounding() -> None:
    # a checker the challenger writes is read by the guard: each took minutes before
    import time

    t0 = time.monotonic()
    calls = _read(
        "    grid = [[0] * 9999] * 9999\n"  # short at the top, 10**8 numbers written out
        "    assert candidate(1) == grid\n"
        "    assert candidate(2) == round(5, -10**8)\n"  # a power of ten of 10**8 digits
        "    assert candidate(3) == {i: [0] * 9000 for i in range(9000)}\n"
        "    assert candidate(4) == round(1234, -2)\n"
    )
    assert time.monotonic() - t0 < 2
    assert calls["(1,)"][0] is None and calls["(2,)"][0] is None and calls["(3,)"][0] is None
    assert calls["(4,)"][0] == "1200"


def test_hostile_sets_codecs_and_huge_tolerances_neither_stall_nor_crash_the_reader() -> None:
    # red team 22: 25 sets of 10,000 ints that all hash to 0 took 16-21 s (each insertion
    # walked every earlier key); str(b'x', 'nope') raised LookupError out of the reader, and a
    # tolerance of 10**400 OverflowError; 4,000 names copied into 4,000 branches took seconds
    import time

    collide = "R = range(0, 10000 * (2**61 - 1), 2**61 - 1)\n" + "T = {*R}\n" * 25
    t0 = time.monotonic()
    checker_calls(collide + "def check(candidate):\n    assert candidate(1) == 2\n")  # budget
    assert time.monotonic() - t0 < 2
    calls = _read(
        "    assert candidate(1) == str(b'x', 'nope')\n"
        "    assert abs(candidate(2) - 2) < 10**400\n"
        "    assert candidate(3) == 4\n"
    )
    assert calls["(3,)"][0] == "4" and calls["(1,)"][0] is None
    names = "".join(f"    v{k} = {k}\n" for k in range(4000))
    branches = "".join(f"    if v{k}:\n        pass\n" for k in range(4000))
    _read(names + branches + "    assert candidate(5) == 6\n")
    assert time.monotonic() - t0 < 5
