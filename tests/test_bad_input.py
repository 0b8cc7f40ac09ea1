"""Every bad input gets one line that names the problem and the fix, and exit code 2.

Each case runs the CLI's entry point (``rewardsmith.cli.main``, what the console script
calls) and checks the exit code, that stderr is exactly one non-empty line with no
traceback, the message text, and that no run folder was started. Most run in this process
for speed; a few run as real child processes, so the console-script path is covered too.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

from tests.helpers import run_cli

SYNTH = ["synthesize", "--env", "CartPole-v1", "--out", "runs"]


class _Outcome:
    def __init__(self, returncode: int, stdout: str, stderr: str) -> None:
        self.returncode, self.stdout, self.stderr = returncode, stdout, stderr


def _in_process(args: list[str], cwd: Path, env: dict[str, str], no_keys: bool) -> _Outcome:
    """Run the CLI's entry point in this process (fast; the same code as the console script)."""
    import contextlib
    import io

    from rewardsmith import cli

    saved_env, saved_argv, saved_cwd = dict(os.environ), sys.argv, Path.cwd()
    out, err = io.StringIO(), io.StringIO()
    code = 0
    try:
        if no_keys:
            for key in [k for k in os.environ if k.endswith("API_KEY")]:
                del os.environ[key]
        os.environ.update(env)
        os.chdir(cwd)
        sys.argv = ["rewardsmith", *args]
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                cli.main()
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else 1
    finally:
        os.environ.clear()
        os.environ.update(saved_env)
        sys.argv = saved_argv
        os.chdir(saved_cwd)
    return _Outcome(code, out.getvalue(), err.getvalue())


def _real_process(args: list[str], cwd: Path) -> _Outcome:
    result = run_cli(args, cwd=cwd, timeout=120)
    return _Outcome(result.returncode, result.stdout, result.stderr)


def _refused(
    tmp_path: Path,
    args: list[str],
    pattern: str,
    env: dict[str, str] | None = None,
    no_keys: bool = False,
    real: bool = False,
) -> str:
    if real:
        result = _real_process(args, tmp_path)
    else:
        result = _in_process(args, tmp_path, env or {}, no_keys)
    assert result.returncode == 2, result.stdout[-2000:] + result.stderr[-2000:]
    assert "Traceback" not in result.stderr + result.stdout
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: "), lines[0]
    assert pattern in lines[0], lines[0]
    runs = tmp_path / "runs"
    assert not runs.exists() or not any(p for p in runs.iterdir() if p.name != ".cache")
    return lines[0]


# synthesize: values --------------------------------------------------------------------


def test_unknown_env_suggests_the_closest(tmp_path: Path) -> None:
    line = _refused(
        tmp_path, ["synthesize", "--env", "CartPole-v2"], "did you mean CartPole-v1", real=True
    )
    assert "rewardsmith tasks" in line


def test_an_env_the_offline_designer_has_nothing_for(tmp_path: Path) -> None:
    line = _refused(
        tmp_path, ["synthesize", "--env", "CliffWalking-v1"], "has none it can use", real=True
    )
    assert "pass --model" in line and "tags = [...]" in line


def test_a_behaviour_no_field_of_the_env_measures(tmp_path: Path) -> None:
    args = ["synthesize", "--env", "HalfCheetah-v5", "--task", "Walk sideways.", "--out", "runs"]
    line = _refused(tmp_path, args, "reads axis y, direction +1 in 'Walk sideways.'")
    assert "moving along y (no field tagged y_velocity)" in line and "pass --model" in line


def test_first_success_on_an_env_that_declares_no_success(tmp_path: Path) -> None:
    line = _refused(
        tmp_path,
        ["synthesize", "--env", "Blackjack-v1", "--first-success", "--out", "runs"],
        "--first-success stops at the success threshold",
    )
    assert "Blackjack-v1's fitness 'native_return' declares none" in line
    assert "success_threshold = <number>" in line


def test_missing_env(tmp_path: Path) -> None:
    _refused(tmp_path, ["synthesize"], "no env given; pass --env ID")


def test_empty_task(tmp_path: Path) -> None:
    _refused(tmp_path, [*SYNTH, "--task", "  "], "--task is empty")


def test_huge_task(tmp_path: Path) -> None:
    line = _refused(tmp_path, [*SYNTH, "--task", "balance " * 600], "characters long")
    assert "keep it under 4000" in line


def test_negative_budget(tmp_path: Path) -> None:
    _refused(tmp_path, [*SYNTH, "--budget", "-3"], "--budget '-3' must be between 1000")


def test_absurd_budget(tmp_path: Path) -> None:
    _refused(tmp_path, [*SYNTH, "--budget", str(10**12)], "must be between 1000 and 1000000000")


def test_budget_that_is_not_a_number(tmp_path: Path) -> None:
    _refused(tmp_path, [*SYNTH, "--budget", "lots"], "neither smoke, quick, full nor a number")


@pytest.mark.parametrize("value", ["0", "-2"])
def test_iterations_out_of_range(tmp_path: Path, value: str) -> None:
    _refused(
        tmp_path,
        [*SYNTH, "--iterations", value],
        f"--iterations must be between 1 and 100, got {value}",
    )


@pytest.mark.parametrize("value", ["-1", str(2**32)])
def test_seed_out_of_range(tmp_path: Path, value: str) -> None:
    # numpy's SeedSequence refused a negative root seed with a traceback.
    _refused(
        tmp_path, [*SYNTH, "--seed", value], f"--seed must be between 0 and 4294967295, got {value}"
    )


def test_cuda_without_a_gpu(tmp_path: Path) -> None:
    torch = pytest.importorskip("torch")
    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    line = _refused(tmp_path, [*SYNTH, "--device", "cuda"], "--device cuda, but torch")
    assert "sees no CUDA GPU on this machine; drop --device" in line


def test_check_with_a_negative_seed(tmp_path: Path) -> None:
    (tmp_path / "r.py").write_text("def compute_reward(pole_angle):\n    return pole_angle, {}\n")
    args = ["check", "--env", "CartPole-v1", "--seed", "-3", "r.py"]
    _refused(tmp_path, args, "--seed must be between 0 and 2147483647, got -3")


@pytest.mark.parametrize("value", ["0", "-1"])
def test_samples_out_of_range(tmp_path: Path, value: str) -> None:
    _refused(
        tmp_path, [*SYNTH, "--samples", value], f"--samples must be between 1 and 64, got {value}"
    )


def test_unknown_fitness(tmp_path: Path) -> None:
    line = _refused(tmp_path, [*SYNTH, "--fitness", "nope"], "no fitness 'nope'")
    assert "balance_steps" in line  # the measures that exist


def test_llm_timeout_out_of_range(tmp_path: Path) -> None:
    _refused(tmp_path, [*SYNTH, "--llm-timeout", "0"], "--llm-timeout must be between 0.5")


def test_api_base_that_is_not_a_url(tmp_path: Path) -> None:
    _refused(tmp_path, [*SYNTH, "--api-base", "localhost:8000"], "must be an http(s) URL")


def test_option_of_the_wrong_type(tmp_path: Path) -> None:
    line = _refused(
        tmp_path, [*SYNTH, "--iterations", "five"], "Invalid value for '--iterations'", real=True
    )
    assert "--help" in line


def test_unknown_option(tmp_path: Path) -> None:
    _refused(tmp_path, [*SYNTH, "--iteratons", "2"], "No such option: --iteratons")


def test_environment_variable_of_the_wrong_type(tmp_path: Path) -> None:
    _refused(
        tmp_path,
        SYNTH,
        "REWARDSMITH_ITERATIONS='five' is not a valid int",
        env={"REWARDSMITH_ITERATIONS": "five"},
    )


# synthesize: config files ----------------------------------------------------------------


def test_malformed_config_file(tmp_path: Path) -> None:
    (tmp_path / "c.toml").write_text("iterations = = 3\n")
    _refused(tmp_path, [*SYNTH, "--config", "c.toml"], "is not valid TOML")


def test_config_file_with_unknown_keys(tmp_path: Path) -> None:
    (tmp_path / "c.toml").write_text("[synthesize]\niteratons = 3\n")
    line = _refused(tmp_path, [*SYNTH, "--config", "c.toml"], "has unknown keys ['iteratons']")
    assert "did you mean 'iteratons' -> 'iterations'?" in line  # the typo's fix, then the rest


def test_config_file_with_a_value_of_the_wrong_type(tmp_path: Path) -> None:
    (tmp_path / "c.toml").write_text('iterations = "five"\n')
    _refused(tmp_path, [*SYNTH, "--config", "c.toml"], "iterations = 'five' should be of type int")


def test_missing_config_file(tmp_path: Path) -> None:
    _refused(tmp_path, [*SYNTH, "--config", "nope.toml"], "cannot read config file 'nope.toml'")


def test_binary_config_file(tmp_path: Path) -> None:
    (tmp_path / "c.toml").write_bytes(bytes(range(128, 256)))
    _refused(tmp_path, [*SYNTH, "--config", "c.toml"], "config file 'c.toml' is not UTF-8 text")


# synthesize: models and keys -------------------------------------------------------------


def test_unknown_model_string(tmp_path: Path) -> None:
    line = _refused(tmp_path, [*SYNTH, "--model", "mymodel"], "unknown model 'mymodel'")
    assert "provider/model" in line


def test_missing_openai_key(tmp_path: Path) -> None:
    line = _refused(
        tmp_path, [*SYNTH, "--model", "openai/gpt-4o"], "needs OPENAI_API_KEY", no_keys=True
    )
    assert "--api-base" in line


def test_missing_anthropic_key(tmp_path: Path) -> None:
    _refused(
        tmp_path,
        [*SYNTH, "--model", "anthropic/claude-3-haiku"],
        "needs ANTHROPIC_API_KEY",
        no_keys=True,
    )


# resume / show ---------------------------------------------------------------------------


@pytest.mark.parametrize("command", ["resume", "show"])
def test_folder_that_is_not_a_run(tmp_path: Path, command: str) -> None:
    _refused(tmp_path, [command, "."], "not a rewardsmith run folder")


@pytest.mark.parametrize("command", ["resume", "show"])
def test_run_folder_with_corrupt_run_json(tmp_path: Path, command: str) -> None:
    run = tmp_path / "runs" / "r1"
    run.mkdir(parents=True)
    (run / "run.json").write_text('{"config": {"env": "CartPole-v1", "itera')
    result = _real_process([command, str(run)], tmp_path)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "is corrupt" in lines[0], result.stderr


def test_resume_of_a_run_json_without_config(tmp_path: Path) -> None:
    run = tmp_path / "r1"
    run.mkdir()
    (run / "run.json").write_text(json.dumps({"status": "created"}))
    _refused(tmp_path, ["resume", "r1"], "holds no run configuration")


def test_resume_of_a_run_json_with_a_bad_value(tmp_path: Path) -> None:
    run = tmp_path / "r1"
    run.mkdir()
    config = {"env": "CartPole-v1", "iterations": "many", "budget": "2000"}
    (run / "run.json").write_text(json.dumps({"config": config}))
    _refused(tmp_path, ["resume", "r1"], "is corrupt")


def _run_with_damaged_iteration(tmp_path: Path, text: str) -> Path:
    from rewardsmith.config import SynthConfig

    run = tmp_path / "r1"
    (run / "iter_00").mkdir(parents=True)
    config = SynthConfig(env="CartPole-v1", iterations=1, budget="2000", eval_seeds=0)
    (run / "run.json").write_text(json.dumps({"config": config.to_json(), "status": "running"}))
    (run / "iter_00" / "iteration.json").write_text(text)
    return run


@pytest.mark.parametrize(
    ("text", "reason"),
    [('{"index": 0, "resu', "Unterminated string"), ("{}", "no 'index' in it")],
)
def test_resume_of_a_run_with_a_damaged_iteration_names_the_file_and_the_fix(
    tmp_path: Path, text: str, reason: str
) -> None:
    run = _run_with_damaged_iteration(tmp_path, text)
    message = _refused(tmp_path, ["resume", "r1"], "iter_00/iteration.json' is damaged")
    assert reason in message and "delete it and resume the run" in message
    assert json.loads((run / "run.json").read_text())["status"] == "interrupted"


def test_show_reads_around_damaged_files(tmp_path: Path) -> None:
    run = _run_with_damaged_iteration(tmp_path, "[1, 2]")
    (run / "iter_00" / "cand_00").mkdir()
    (run / "iter_00" / "cand_00" / "critic.json").write_text('{"passed": tr')
    (run / "iter_00" / "cand_01").mkdir()
    critic = {"passed": False, "problems": ["returns a string"]}
    (run / "iter_00" / "cand_01" / "critic.json").write_text(json.dumps(critic))
    (run / "best").mkdir()
    (run / "best" / "report.json").write_text("{")
    shown = _real_process(["show", "r1"], tmp_path)
    assert shown.returncode == 0 and "Traceback" not in shown.stderr, shown.stderr
    text = " ".join(shown.stdout.split())
    assert "iteration.json' is damaged (a JSON object was expected, not list)" in text
    assert "cand_00/critic.json' is damaged" in text
    assert "rejected" in text and "returns a string" in text  # the readable candidate
    assert "report.json' is damaged" in text


def test_missing_command_argument(tmp_path: Path) -> None:
    _refused(tmp_path, ["resume"], "Missing argument 'run'")


# check / tasks -------------------------------------------------------------------------


def test_check_missing_file(tmp_path: Path) -> None:
    _refused(tmp_path, ["check", "--env", "CartPole-v1", "missing.py"], "does not exist")


def test_check_directory(tmp_path: Path) -> None:
    _refused(tmp_path, ["check", "--env", "CartPole-v1", "."], "is not a file")


def test_check_binary_file(tmp_path: Path) -> None:
    (tmp_path / "reward.pyc").write_bytes(b"\x00\xff\xfe compute_reward \x80\x81")
    _refused(tmp_path, ["check", "--env", "CartPole-v1", "reward.pyc"], "not a UTF-8 text file")


def test_check_text_file_that_is_not_a_reward(tmp_path: Path) -> None:
    (tmp_path / "notes.py").write_text("print('hello')\n")
    _refused(tmp_path, ["check", "--env", "CartPole-v1", "notes.py"], "not a reward file")


def test_check_unknown_env(tmp_path: Path) -> None:
    (tmp_path / "r.py").write_text("def compute_reward(action):\n    return action, {}\n")
    _refused(tmp_path, ["check", "--env", "Hoper-v5", "r.py"], "did you mean Hopper-v5")


def test_tasks_describe_unknown_id(tmp_path: Path) -> None:
    _refused(tmp_path, ["tasks", "--describe", "Hoper-v5"], "did you mean Hopper-v5")


def test_unknown_command(tmp_path: Path) -> None:
    _refused(tmp_path, ["synthesise"], "No such command 'synthesise'")
