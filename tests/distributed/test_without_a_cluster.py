"""What holds with no Ray cluster: the ledger's exactly-once rule, the factory's local default
(Ray never imported), a missing Ray or an address nobody answers reported in one line, and
the loop's ``[distributed]`` config key."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from closedloop.cli import app
from closedloop.distributed.ledger import Ledger
from closedloop.loop.config import ConfigError, config_from_dict, dump_config, load_config

TASK = {
    "id": "sort",
    "entry_point": "f",
    "instruction": "sort",
    "private_tests": [{"input": "([2, 1],)", "output": "[1, 2]"}],
}
SOLUTION = {"task_id": "sort", "solution": "def f(xs):\n    return sorted(xs)\n"}


def _python(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False
    )


def test_the_ledger_keeps_the_first_result_for_an_id_and_drops_later_ones():
    ledger = Ledger()
    assert ledger.record(3) and ledger.record(0)
    assert not ledger.record(3)  # a second answer for job 3: dropped
    assert not ledger.record(3)
    assert len(ledger) == 2 and ledger.duplicates == 2


def test_an_empty_address_builds_the_local_pool_and_never_imports_ray():
    out = _python(
        "import sys\n"
        "from closedloop.distributed import make_verifier\n"
        "import closedloop.loop.runner, closedloop.cli.serve_cmd\n"
        "with make_verifier(1) as v:\n"
        "    print(type(v).__name__, 'ray' in sys.modules)\n"
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["Verifier", "False"]


def test_a_missing_ray_is_cluster_unavailable_naming_the_extra():
    out = _python(
        "import sys\n"
        "sys.modules['ray'] = None  # as if Ray were not installed\n"
        "from closedloop.distributed import ClusterUnavailable, make_verifier\n"
        "from closedloop.sandbox import SandboxUnavailable\n"
        "try:\n"
        "    make_verifier(ray_address='local')\n"
        "except ClusterUnavailable as e:\n"
        "    print(isinstance(e, SandboxUnavailable), e)\n"
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("True --ray local: Ray is not installed")
    assert "closedloop[ray]" in out.stdout


def test_verify_with_ray_at_an_address_nobody_answers_is_one_line_and_exit_3(tmp_path: Path):
    (tmp_path / "t.jsonl").write_text(json.dumps(TASK) + "\n")
    (tmp_path / "s.jsonl").write_text(json.dumps(SOLUTION) + "\n")
    r = CliRunner().invoke(
        app,
        ["verify", str(tmp_path / "t.jsonl"), str(tmp_path / "s.jsonl"), "-q"]
        + ["--ray", "127.0.0.1:1"],
    )
    assert r.exit_code == 3, r.output
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "no Ray head answers there" in lines[0], r.stderr


def test_distributed_ray_address_is_a_config_key_off_by_default(tmp_path: Path):
    assert config_from_dict({}).distributed.ray_address == ""
    cfg = config_from_dict({"distributed": {"ray_address": "10.0.0.1:6379"}})
    (tmp_path / "c.toml").write_text(dump_config(cfg))
    assert load_config(tmp_path / "c.toml").distributed.ray_address == "10.0.0.1:6379"
    with pytest.raises(ConfigError, match="distributed.ray_adress: unknown key"):
        config_from_dict({"distributed": {"ray_adress": "auto"}})


def test_policy_replicas_is_a_config_key_that_needs_a_ray_address(tmp_path: Path):
    assert config_from_dict({}).distributed.policy_replicas == 0
    cfg = config_from_dict({"distributed": {"ray_address": "auto", "policy_replicas": 2}})
    (tmp_path / "c.toml").write_text(dump_config(cfg))
    assert load_config(tmp_path / "c.toml").distributed.policy_replicas == 2
    with pytest.raises(ConfigError, match="policy_replicas = 2 needs ray_address"):
        config_from_dict({"distributed": {"policy_replicas": 2}})
    with pytest.raises(ConfigError, match="replica_backend = 'vllm' runs on GPUs"):
        config_from_dict(
            {
                "distributed": {
                    "ray_address": "auto",
                    "policy_replicas": 1,
                    "replica_backend": "vllm",
                }
            }
        )
    with pytest.raises(ConfigError, match="distributed.replica_backend"):
        config_from_dict({"distributed": {"replica_backend": "openai"}})


def test_no_policy_replicas_never_imports_ray():
    out = _python(
        "import sys\n"
        "from closedloop.distributed import make_replicas\n"
        "with make_replicas('', 0) as r:\n"
        "    print(r, 'ray' in sys.modules)\n"
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["None", "False"]
