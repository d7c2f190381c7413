"""Whole-environment commands end to end: export, diff-env, snapshot, plan/apply,
restore, promote."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from tests.cli.conftest import Runner
from tests.cli.test_cli import fails, ok

PROVIDER = '{"provider_type": "openai", "keys": [{"name": "main", "api_key": "sk-cli-secret"}]}'


def _seed(cli: Runner) -> None:
    ok(cli("set", "router", '{"default_strategy": "leastcost"}'))
    ok(cli("set", "feature_flag/beta", '{"enabled": true}'))
    ok(cli("set", "provider/openai", PROVIDER))


def test_export_formats_and_points(cli: Runner, tmp_path: Path) -> None:
    _seed(cli)
    first = ok(cli("export"))
    assert first["environment"] == "default" and first["position"] == 3
    assert first["entries"]["router"] == {"default": {"default_strategy": "leastcost"}}
    assert first["entries"]["provider"]["openai"]["keys"][0]["api_key"] == "********"
    ok(cli("patch", "router", '{"max_retries": 7}'))
    assert ok(cli("export", "--position", "3"))["entries"] == first["entries"]
    assert ok(cli("export", "--as-of", first["recorded_at"]))["entries"] == first["entries"]
    assert ok(cli("export"))["entries"]["router"]["default"]["max_retries"] == 7
    out = tmp_path / "env.yaml"
    ok(cli("export", "-o", str(out)))
    assert yaml.safe_load(out.read_text())["entries"]["router"]["default"]["max_retries"] == 7
    assert ok(cli("export", "--format", "yaml")).startswith("environment: default")
    sealed = ok(cli("export", "--include-secrets"))
    assert sealed["entries"]["provider"]["openai"]["keys"][0]["api_key"].startswith("enc:v2:")
    assert "sk-cli-secret" not in json.dumps(sealed)
    fails(cli("export", "--position", "1", "--snapshot", "x"), 2)
    fails(cli("export", "--position", "99"), 5)
    fails(cli("export", "--snapshot", "nope"), 5)
    fails(cli("export", "--as-of", "yesterday"), 2)


def test_snapshots_diff_env_and_restore(cli: Runner) -> None:
    _seed(cli)
    made = ok(cli("--json", "snapshot", "create", "v1", "--reason", "baseline"))
    assert (made["name"], made["position"], made["entry_count"]) == ("v1", 3, 3)
    fails(cli("snapshot", "create", "v1"), 4)
    fails(cli("snapshot", "create", "1bad"), 3)
    ok(cli("patch", "router", '{"max_retries": 5}'))
    ok(cli("delete", "feature_flag/beta"))
    ok(cli("set", "feature_flag/new", "{}"))
    diff = ok(cli("--json", "diff-env", "v1"))
    assert [(d["action"], d["area"], d["key"]) for d in diff] == [
        ("delete", "feature_flag", "beta"),
        ("create", "feature_flag", "new"),
        ("update", "router", "default"),
    ]
    assert ok(cli("--json", "diff-env", "3", "v1")) == []
    assert [s["name"] for s in ok(cli("--json", "snapshot", "list"))] == ["v1"]
    shown = ok(cli("--json", "snapshot", "show", "v1"))
    assert shown["entries"]["feature_flag"] == {"beta": {"enabled": True}}
    plan = ok(cli("--json", "restore", "--to-snapshot", "v1", "--dry-run"))
    assert plan["applied"] is False
    assert [c["action"] for c in plan["changes"]] == ["undelete", "delete", "rollback"]
    assert ok(cli("--json", "export"))["position"] == 6
    done = ok(cli("--json", "restore", "--to-snapshot", "v1", "--reason", "undo"))
    assert done["applied"] is True and done["changes"] == plan["changes"]
    assert done["position"] == 9
    assert ok(cli("--json", "diff-env", "v1", "now")) == []
    again = ok(cli("--json", "restore", "--to-position", "3"))
    assert again["applied"] is False and again["changes"] == []
    history = ok(cli("--json", "history", "router"))
    assert [h["event"] for h in history] == ["created", "changed", "rolled_back"]
    assert history[-1]["source"] == "restore" and history[-1]["reason"] == "undo"
    fails(cli("restore", "--to-position", "1", "--to-snapshot", "v1"), 2)
    fails(cli("restore"), 2)
    ok(cli("snapshot", "delete", "v1"))
    fails(cli("snapshot", "show", "v1"), 5)


def _write(path: Path, document: dict[str, Any]) -> str:
    path.write_text(json.dumps(document))
    return str(path)


def test_apply_is_atomic_idempotent_and_matches_plan(cli: Runner, tmp_path: Path) -> None:
    ok(cli("set", "feature_flag/old", "{}"))
    document = {
        "entries": {
            "router": {"default": {"max_retries": 4}},
            "feature_flag": {"a": {"enabled": True}, "b": {"rollout_percent": 10}},
        }
    }
    good = _write(tmp_path / "good.json", document)
    bad_doc = json.loads(json.dumps(document))
    bad_doc["entries"]["router"]["default"]["max_retries"] = 99
    bad_doc["entries"]["feature_flag"]["b"]["rollout_percent"] = 500
    bad_doc["entries"]["nope"] = {"x": {}}
    error = fails(cli("apply", _write(tmp_path / "bad.json", bad_doc)), 3)
    assert "entries.router.default.max_retries" in error
    assert "entries.feature_flag.b.rollout_percent" in error
    assert "entries.nope.x" in error
    assert ok(cli("--json", "export"))["position"] == 1
    plan = ok(cli("--json", "plan", good, "--prune"))
    assert [(c["action"], c["key"]) for c in plan["changes"]] == [
        ("create", "a"),
        ("create", "b"),
        ("delete", "old"),
        ("create", "default"),
    ]
    fails(cli("apply", good, "--prune", "--expected-position", "0"), 4)
    applied = ok(cli("--json", "apply", good, "--prune", "--expected-position", "1"))
    assert applied["changes"] == plan["changes"] and applied["position"] == 5
    assert ok(cli("--json", "export"))["entries"] == document["entries"]
    repeat = ok(cli("--json", "apply", good, "--prune"))
    assert repeat["applied"] is False and repeat["position"] == 5 and repeat["unchanged"] == 3
    assert "nothing to change" in ok(cli("apply", good))
    audit = ok(cli("--json", "audit", "--limit", "1"))
    assert audit[0]["source"] == "import"


def test_apply_input_errors_and_target_environment(cli: Runner, tmp_path: Path) -> None:
    fails(cli("apply", str(tmp_path / "missing.json")), 2)
    broken = tmp_path / "broken.yaml"
    broken.write_text("entries: [unclosed")
    assert "not valid YAML" in fails(cli("apply", str(broken)), 3)
    assert "entries" in fails(cli("apply", _write(tmp_path / "x.json", {"entries": 3})), 3)
    staged = _write(tmp_path / "s.json", {"environment": "staging", "entries": {"router": {}}})
    ok(cli("apply", staged))
    ok(cli("set", "feature_flag/x", "{}", "--env", "staging"))
    doc = ok(cli("--env", "staging", "export"))
    ok(cli("apply", "-", "--env", "prod", stdin=json.dumps(doc)))
    assert ok(cli("--env", "prod", "export"))["entries"] == doc["entries"]


def test_promote_copies_secrets_and_prunes(cli: Runner) -> None:
    _seed(cli)
    ok(cli("--env", "prod", "set", "feature_flag/only-prod", "{}"))
    dry = ok(cli("--json", "promote", "--from", "default", "--to", "prod", "--prune", "--dry-run"))
    assert len(dry["changes"]) == 4 and dry["applied"] is False
    done = ok(cli("--json", "promote", "--from", "default", "--to", "prod", "--prune"))
    assert done["changes"] == dry["changes"]
    assert ok(cli("--env", "prod", "export"))["entries"] == ok(cli("export"))["entries"]
    revealed = ok(cli("--json", "--env", "prod", "get", "provider/openai", "--reveal"))
    assert revealed["value"]["keys"][0]["api_key"] == "sk-cli-secret"
    fails(cli("promote", "--from", "default", "--to", "bad env"), 2)


def test_bad_names_and_arguments_are_usage_or_value_errors(cli: Runner, tmp_path: Path) -> None:
    ok(cli("set", "feature_flag/x", "{}"))
    fails(cli("--env", "bad env!", "export"), 2)
    fails(cli("snapshot", "create", "x", "--env", "bad env!"), 2)
    assert "--reason" in fails(cli("snapshot", "create", "x", "--reason", "r" * 2001), 3)
    assert "--actor" in fails(cli("restore", "--to-position", "1", "--actor", "a" * 201), 3)
    fails(cli("promote", "--from", "default", "--to", "default"), 2)
    assert "typo" in fails(cli("promote", "--from", "typo", "--to", "default", "--prune"), 5)
    bad_env = _write(tmp_path / "e.json", {"environment": "no way", "entries": {}})
    assert "environment" in fails(cli("apply", bad_env), 3)
    assert ok(cli("--json", "export"))["entries"] == {"feature_flag": {"x": {}}}
