"""Task and solution files with lines that used to crash every command reading them (a
RecursionError, a UnicodeEncodeError, an int past the digit limit), test literals too large
for the sandbox wire, and task files that could not be written or were written half."""

from __future__ import annotations

import hashlib
import json
import time
import tracemalloc
from pathlib import Path

import pytest

from closedloop.sandbox.wire import MAX_TEXT
from closedloop.tasks.format import (
    MAX_DEPTH,
    TaskFormatError,
    content_id,
    load_solutions,
    load_tasks,
    parse_task,
    read_jsonl,
    write_tasks,
)

OK = {"id": "ok1", "entry_point": "f", "instruction": "id",
      "private_tests": [{"input": "(1,)", "output": "1"}]}  # fmt: skip
DEEP = "[" * 100_000 + "]" * 100_000
BIG_INT = '{"id": "big", "metadata": {"n": ' + "1" * 5000 + "}}"
SURROGATE_NO_ID = json.dumps(
    {"entry_point": "f", "instruction": "x \ud800 y",
     "private_tests": [{"input": "(1,)", "output": "1"}]}
)  # fmt: skip


def _file(tmp_path: Path, *lines: str) -> Path:
    p = tmp_path / "tasks.jsonl"
    p.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return p


@pytest.mark.parametrize(
    "line,why",
    [
        (DEEP, f"nested deeper than {MAX_DEPTH} levels"),
        # deep enough to decode, too deep to copy (Task.to_json's asdict recursed out)
        ('{"id": "d", "metadata": {"x": ' + "[" * 900 + "]" * 900 + "}}", "nested deeper"),
        (BIG_INT, "a number of more than 4,300 digits"),
    ],
    ids=["100000-deep", "900-deep", "5000-digit int"],
)
def test_a_line_json_cannot_hold_is_a_bad_line_naming_file_and_line(tmp_path, line, why):
    path = _file(tmp_path, json.dumps(OK), line, json.dumps(dict(OK, id="ok2")))
    tasks, bad = load_tasks(path)
    assert [t.id for t in tasks] == ["ok1", "ok2"]  # the lines around it are kept
    (b,) = bad
    assert b.line == 2 and b.reason.startswith("tasks.jsonl line 2: ") and why in b.reason
    sols, bad_sols = load_solutions(path)  # the solutions reader shares it
    assert [s.line for s in bad_sols if why in s.reason] == [2]


def test_a_task_without_id_holding_a_lone_surrogate_gets_an_id(tmp_path):
    tasks, bad = load_tasks(_file(tmp_path, json.dumps(OK), SURROGATE_NO_ID))
    assert not bad and len(tasks) == 2 and len(tasks[1].id) == 16


def test_content_id_is_unchanged_for_text_utf8_can_encode():
    # the ids of tasks without one are stored in runs: the fix must not move them
    obj = {k: v for k, v in OK.items() if k != "id"} | {"instruction": "ünïcode ✓"}
    blob = json.dumps(obj, sort_keys=True, ensure_ascii=False, default=str)
    assert content_id(obj) == hashlib.sha256(blob.encode()).hexdigest()[:16]
    assert content_id(obj | {"instruction": "x \ud800"}) != content_id(obj | {"instruction": "x"})


def test_values_json_cannot_encode_are_a_format_error_not_a_crash():
    with pytest.raises(TaskFormatError, match="hashed"):
        content_id({"metadata": {"n": 10**5000}})
    with pytest.raises(TaskFormatError, match="float_tolerance"):
        parse_task(dict(OK, float_tolerance=10**400))  # float() of it overflowed
    with pytest.raises(TaskFormatError, match="float_tolerance"):
        parse_task(dict(OK, float_tolerance=float("inf")))


def test_read_jsonl_yields_every_line(tmp_path):
    path = _file(tmp_path, json.dumps(OK), DEEP, BIG_INT, "", "{bad")
    assert [n for n, _ in read_jsonl(path)] == [1, 2, 3, 5]


def test_a_test_input_over_the_wire_cap_is_refused_before_parsing():
    # 2 MB of "1," once took 4.7 s and ~1 GB in ast.literal_eval
    big = "(" + "1," * 1_000_000 + ")"
    obj = dict(OK, private_tests=[OK["private_tests"][0], {"input": big, "output": "0"}])
    tracemalloc.start()
    t0 = time.perf_counter()
    with pytest.raises(TaskFormatError) as e:
        parse_task(obj)
    elapsed = time.perf_counter() - t0
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert str(e.value).startswith("private_tests[1].input: 2,000,002 characters, over the")
    assert elapsed < 0.5 and peak < 20 << 20, (elapsed, peak)


def test_a_test_input_with_more_tokens_than_the_wire_takes_is_refused():
    big = "(" + "1," * 400_000 + ")"  # under MAX_TEXT characters, over MAX_TOKENS tokens
    assert len(big) < MAX_TEXT
    with pytest.raises(TaskFormatError, match=r"private_tests\[0\].input: more than 600,000"):
        parse_task(dict(OK, private_tests=[{"input": big, "output": "0"}]))


def test_inputs_are_read_by_the_decoder_the_candidate_uses():
    # Ellipsis is a Python literal the wire cannot carry: no solution could be run on it
    with pytest.raises(TaskFormatError, match=r"private_tests\[0\].input: not a literal the"):
        parse_task(dict(OK, private_tests=[{"input": "(...,)", "output": "0"}]))
    # and what the wire writes for a candidate is an input a task may hold
    task = parse_task(
        dict(OK, private_tests=[{"input": "(frozenset({1}), float('nan'))", "output": "0"}])
    )
    assert task.private_tests[0].input.startswith("(frozenset")


def test_an_input_at_the_cap_still_parses():
    text = "('" + "a" * (MAX_TEXT - 5) + "',)"
    assert len(text) == MAX_TEXT
    parse_task(dict(OK, private_tests=[{"input": text, "output": "0"}]))


def test_tasks_with_lone_surrogates_are_written_and_read_back_unchanged(tmp_path):
    src = _file(tmp_path, json.dumps(OK), SURROGATE_NO_ID, json.dumps(dict(OK, id="sep\u2028")))
    tasks, _ = load_tasks(src)
    out = tmp_path / "out.jsonl"
    write_tasks(tasks, out)
    assert len(out.read_text(encoding="utf-8").splitlines()) == 3  # U+2028 escaped too
    back, bad = load_tasks(out)
    assert not bad and back == tasks


def test_a_failed_write_leaves_the_old_file_and_no_half_written_one(tmp_path):
    out = tmp_path / "out.jsonl"
    out.write_text("old\n")
    good = parse_task(OK)
    unwritable = parse_task(dict(OK, id="big", metadata={"n": 10**5000}))
    with pytest.raises(ValueError):
        write_tasks([good, unwritable], out)
    assert out.read_text() == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["out.jsonl"]  # no temporary file left


def test_a_solution_line_under_another_field_name_says_which_fields_it_has(tmp_path):
    # {"task_id", "code"} was "solution: expected a string", which named nothing to mend
    path = _file(tmp_path, json.dumps({"task_id": "t", "code": "def f(): pass"}))
    _, (b,) = load_solutions(path)
    assert "solution: missing (the line has 'task_id', 'code'" in b.reason and b.task_id == "t"
