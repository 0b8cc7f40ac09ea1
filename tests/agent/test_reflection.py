from rewardsmith.agent.candidate import CandidateResult, RewardCandidate
from rewardsmith.agent.reflection import hacking_alert, reflect, select_best
from rewardsmith.envs.spec import FitnessMeasure

MEASURE = FitnessMeasure(
    "balance_steps", "steps balanced", "steps", lambda p, f, r: 1.0, "sum", 475
)


def _result(fitness, status="ok", **kw) -> CandidateResult:
    src = f"def compute_reward(x):\n    return x * {fitness}, {{}}\n"
    return CandidateResult(RewardCandidate(src), status, fitness=fitness, **kw)


def test_select_best_ignores_failed_and_rejected() -> None:
    results = [_result(5.0), _result(None, "rejected"), _result(9.0), _result(None, "failed")]
    assert select_best(results) is results[2]
    assert select_best([_result(None, "failed")]) is None


def test_feedback_has_traces_tips_and_statuses() -> None:
    best = _result(
        100.0,
        fitness_trace=[10, 50, 100],
        return_trace=[1, 2, 3],
        component_trace={"upright": [0.5, 0.51, 0.5], "alive": [1.0, 5.0, 9.0]},
        length_trace=[10, 50, 100],
        ended_by={"termination": 3},
        field_ranges={"pole_angle": [-0.2, 0.2]},
    )
    rejected = _result(None, "rejected", problems=["uses unknown field 'foo'"])
    text = reflect([best, rejected], MEASURE)
    assert "upright: [0.5, 0.51, 0.5], Max: 0.51, Mean: 0.503, Min: 0.5" in text
    assert "task fitness (balance_steps): [10, 50, 100]" in text
    assert "barely changed" in text and "'upright'" in text
    assert "rejected by the critic: uses unknown field 'foo'" in text
    assert "ended early by termination without success" in text
    assert "pole_angle in [-0.2, 0.2]" in text
    assert "HACKING" not in text


def test_hacking_alert_when_return_rises_and_fitness_does_not() -> None:
    hacked = _result(1.0, fitness_trace=[5, 4, 5, 4], return_trace=[1, 10, 20, 40])
    assert "REWARD HACKING SUSPECTED" in hacking_alert(hacked)
    honest = _result(1.0, fitness_trace=[5, 10, 20, 40], return_trace=[1, 10, 20, 40])
    assert hacking_alert(honest) is None
    assert "REWARD HACKING" in reflect([hacked], MEASURE)


def test_no_trained_candidate_says_so() -> None:
    text = reflect([_result(None, "failed", problems=["boom"])], MEASURE)
    assert "No candidate trained successfully" in text and "boom" in text


def test_constant_component_is_called_an_alive_bonus_not_flat() -> None:
    best = _result(
        10.0,
        fitness_trace=[1, 5, 10],
        return_trace=[1, 5, 10],
        component_trace={"alive": [1.0, 1.0, 1.0]},
        length_trace=[1, 5, 10],
    )
    text = reflect([best], MEASURE)
    assert "'alive' is constant (1 per step)" in text
    assert "barely changed" not in text


def test_a_time_cost_and_successful_endings_get_no_alive_advice() -> None:
    """A landing ends the episode on success: no alive bonus is called for."""
    landed = _result(
        0.7,
        fitness_trace=[0.0, 0.7],
        return_trace=[-100.0, 200.0],
        component_trace={"time_cost": [-0.05, -0.05], "approach": [0.1, 0.3]},
        length_trace=[80, 450],
        ended_by={"termination": 5},
        success_rate=0.8,
    )
    text = reflect([landed], MEASURE)
    assert "'time_cost' is constant (-0.05 per step): a cost per step" in text
    assert "alive bonus" not in text and "only pays for time alive" not in text
    crashed = _result(
        0.0,
        fitness_trace=[0.0, 0.0],
        return_trace=[-100.0, -90.0],
        length_trace=[80, 90],
        ended_by={"termination": 5},
        success_rate=0.0,
    )
    assert "ended early by termination without success" in reflect([crashed], MEASURE)
