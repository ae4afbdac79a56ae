"""The host side works in a process that holds many descriptors (a trainer embedding the
verifier holds loaders' pipes, sockets and GPU handles): ``select`` takes descriptors below
1024 only, and every job of such a process raised ``ValueError``, each verdict an
infra_error."""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import textwrap


def test_a_process_holding_over_1024_descriptors_verifies():
    code = textwrap.dedent("""
        import os, resource
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 4096), hard))
        held = [os.open(os.devnull, os.O_RDONLY) for _ in range(1100)]
        from closedloop.tasks.format import parse_task
        from closedloop.verify import Verifier
        task = parse_task({"id": "t", "entry_point": "f", "instruction": "sort",
                           "private_tests": [{"input": "([2, 1],)", "output": "[1, 2]"}]})
        with Verifier(workers=1) as v:
            verdict = v.verify(task, "def f(xs):\\n    return sorted(xs)\\n")
        print(max(held) > 1024, verdict.outcome)
    """)
    if resource.getrlimit(resource.RLIMIT_NOFILE)[1] < 2048:
        import pytest

        pytest.skip("the hard descriptor limit is below 2048 here")
    r = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, env=os.environ
    )
    assert r.returncode == 0, r.stderr[-2000:]
    assert r.stdout.split() == ["True", "pass"], r.stdout
