from pathlib import Path

import pytest

from rewardsmith.config import SynthConfig, load_config, normalise_budget
from rewardsmith.errors import UserError


def test_priority_file_then_env_then_cli(tmp_path: Path) -> None:
    f = tmp_path / "c.toml"
    f.write_text('[synthesize]\nenv = "CartPole-v1"\niterations = 7\nseed = 3\nbudget = "smoke"\n')
    cfg = load_config({"seed": 11}, f, environ={"REWARDSMITH_ITERATIONS": "9"})
    assert (cfg.env, cfg.iterations, cfg.seed, cfg.budget) == ("CartPole-v1", 9, 11, "smoke")


def test_unknown_key_in_file_is_named(tmp_path: Path) -> None:
    f = tmp_path / "c.toml"
    f.write_text("itterations = 3\n")
    with pytest.raises(UserError, match="itterations"):
        load_config({}, f, environ={})


def test_malformed_toml(tmp_path: Path) -> None:
    f = tmp_path / "c.toml"
    f.write_text("env = \n")
    with pytest.raises(UserError, match="not valid TOML"):
        load_config({}, f, environ={})


def test_bad_env_var_type() -> None:
    with pytest.raises(UserError, match="REWARDSMITH_SEED"):
        load_config({}, None, environ={"REWARDSMITH_SEED": "abc"})


def test_a_switch_from_the_environment_is_true_or_false_or_refused() -> None:
    assert not load_config({}, None, environ={"REWARDSMITH_CACHE": "off"}).cache
    assert load_config({}, None, environ={"REWARDSMITH_CACHE": " Yes "}).cache
    with pytest.raises(UserError, match="REWARDSMITH_CACHE='maybe' is not true or false"):
        load_config({}, None, environ={"REWARDSMITH_CACHE": "maybe"})


def test_a_misspelt_variable_is_named_and_others_are_left_alone(
    caplog: pytest.LogCaptureFixture,
) -> None:
    environ = {"REWARDSMITH_ITERATONS": "3", "REWARDSMITH_CANARY_TOKEN": "x"}
    config = load_config({}, None, environ=environ)
    assert config.iterations == SynthConfig().iterations  # ignored, not guessed
    (record,) = caplog.records
    assert record.getMessage() == (
        "REWARDSMITH_ITERATONS is not an option and is ignored; "
        "did you mean REWARDSMITH_ITERATIONS?"
    )


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("smoke", "smoke"), ("QUICK", "quick"), ("50k", "50000"), ("2000", "2000")],
)
def test_budget_forms(raw: str, expected: str) -> None:
    assert normalise_budget(raw) == expected


@pytest.mark.parametrize("raw", ["-5", "10", "lots", "5000000000"])
def test_bad_budgets(raw: str) -> None:
    with pytest.raises(UserError, match="--budget"):
        normalise_budget(raw)


def test_samples_default_depends_on_designer() -> None:
    assert SynthConfig(env="x").n_samples == 4
    assert SynthConfig(env="x", model="openai/gpt-4o").n_samples == 8
    assert SynthConfig(env="x", model="m", samples=3).n_samples == 3


@pytest.mark.parametrize(
    ("changes", "pattern"),
    [
        ({"task": "   "}, "empty"),
        ({"task": "x" * 5000}, "characters"),
        ({"iterations": 0}, "--iterations"),
        ({"samples": 1000}, "--samples"),
        ({"llm_critic": True}, "needs a model"),
        ({"api_base": "127.0.0.1:8000"}, "http"),
        ({"env": ""}, "--env"),
        ({"video_seconds": 0.2}, "--video-seconds must be between 1 and 60, got 0.2"),
        ({"confirm_top": 17}, "--confirm-top must be between 0 and 16, got 17"),
        ({"confirm_seeds": -1}, "--confirm-seeds must be between 0 and 10, got -1"),
    ],
)
def test_validate_rejects(changes: dict, pattern: str) -> None:
    cfg = SynthConfig(env="CartPole-v1")
    for k, v in changes.items():
        setattr(cfg, k, v)
    with pytest.raises(UserError, match=pattern):
        cfg.validate()


def test_round_trip() -> None:
    cfg = SynthConfig(env="CartPole-v1", seed=4, budget="smoke")
    assert SynthConfig.from_json(cfg.to_json() | {"future_key": 1}) == cfg


def test_a_ray_address_that_does_not_answer_is_refused_at_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # ray.init retries such an address for ever, a warning a minute; a run must not start.
    import socket
    import tempfile

    with socket.socket() as listening:
        listening.bind(("127.0.0.1", 0))
        listening.listen()
        port = listening.getsockname()[1]
        SynthConfig(env="CartPole-v1", ray_address=f"127.0.0.1:{port}").validate()
        SynthConfig(env="CartPole-v1", ray_address=f"ray://127.0.0.1:{port}").validate()
    closed = SynthConfig(env="CartPole-v1", ray_address=f"127.0.0.1:{port}")
    with pytest.raises(UserError, match=f"cannot reach the Ray cluster at 127.0.0.1:{port}"):
        closed.validate()
    with pytest.raises(UserError, match="is not host:port, ray://host:port or auto"):
        SynthConfig(env="CartPole-v1", ray_address="10.0.0.5:x").validate()
    monkeypatch.setattr(tempfile, "gettempdir", lambda: str(tmp_path))
    with pytest.raises(UserError, match="auto, but no Ray cluster runs on this machine"):
        SynthConfig(env="CartPole-v1", ray_address="auto").validate()
    (tmp_path / "ray").mkdir()
    (tmp_path / "ray" / "ray_current_cluster").write_text(f"127.0.0.1:{port}\n")
    with pytest.raises(UserError, match="cannot reach"):
        SynthConfig(env="CartPole-v1", ray_address="auto").validate()
    monkeypatch.setenv("RAY_ADDRESS", f"127.0.0.1:{port}")
    with pytest.raises(UserError, match="cannot reach"):
        SynthConfig(env="CartPole-v1").validate()
    SynthConfig(env="CartPole-v1", executor="local").validate()  # Ray is not used at all
