"""A pool's start-up: the workers' program is compiled once, however many threads start them."""

from __future__ import annotations

import builtins
from concurrent.futures import ThreadPoolExecutor

import closedloop.sandbox.worker as worker_module


def test_the_worker_program_is_compiled_once_when_workers_start_at_once(monkeypatch) -> None:
    # a pool starts its slots' workers from several threads: an unlocked cache let each compile
    # the ~1,600-line program (~16 ms of CPU each) before the first had stored it
    compiles = []

    def counting_compile(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        compiles.append(args[1])
        return builtins.compile(*args, **kwargs)

    monkeypatch.setattr(worker_module, "compile", counting_compile, raising=False)
    monkeypatch.setattr(worker_module, "_CODE", [])
    with ThreadPoolExecutor(6) as ex:
        programs = list(ex.map(lambda _: worker_module._worker_code(), range(6)))
    assert compiles == ["<sandbox worker>"] and len(set(programs)) == 1
