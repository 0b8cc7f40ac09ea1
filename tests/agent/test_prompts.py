"""The prompt templates: shipped, strict, and carrying what the designer must see."""

from __future__ import annotations

import jinja2
import pytest

from rewardsmith.agent.designer import DesignContext, task_prompt_values
from rewardsmith.prompts import render, template_names
from tests.agent.designer_tasks import CARTPOLE, CHEETAH


def _ctx(description: str = "run backwards") -> DesignContext:
    return DesignContext(CHEETAH, description, CHEETAH.fitness[0], seed=0)


def test_all_templates_are_shipped() -> None:
    assert {"system", "initial_user", "feedback", "execution_error", "review"} <= set(
        template_names()
    )


def test_missing_value_is_an_error_not_a_blank() -> None:
    with pytest.raises(jinja2.UndefinedError):
        render("feedback")
    with pytest.raises(jinja2.TemplateNotFound):
        render("no_such_template")


def test_system_prompt_states_the_contract_and_tips() -> None:
    text = render("system")
    for phrase in ("compute_reward", "(reward, components)", "(n,)", "alive bonus", "np.exp"):
        assert phrase in text
    assert "`prev_<field>`" in text and "phi(prev_fields)" in text


def test_initial_user_has_fields_action_termination_fitness_but_no_fitness_code() -> None:
    text = render("initial_user", **task_prompt_values(_ctx()))
    assert "run backwards" in text
    assert "HalfCheetah-v5" in text
    for f in CHEETAH.fields:
        assert f"`{f.name}`" in text
        assert f.meaning in text
    assert "(6,)" in text  # vector fields show their shape
    assert "`prev_f`, its value one step earlier" in text
    assert CHEETAH.action_meaning in text
    assert CHEETAH.termination in text
    assert "forward_distance" in text and CHEETAH.fitness[0].meaning in text
    assert "_secret_fitness_code" not in text and 'fields["x"]' not in text
    assert "```python" in text and "def compute_reward(" in text
    assert "{{" not in text and "{%" not in text


def test_the_fitness_unit_is_named_only_when_there_is_one() -> None:
    from dataclasses import replace

    measure = CHEETAH.fitness[0]
    text = render("initial_user", **task_prompt_values(_ctx()))
    assert f"(unit: {measure.unit})" in text
    unitless = DesignContext(CHEETAH, "run", replace(measure, unit="-"), seed=0)
    assert "(unit:" not in render("initial_user", **task_prompt_values(unitless))


def test_initial_user_uses_the_task_description_when_the_user_gave_none() -> None:
    ctx = DesignContext(CARTPOLE, "  ", CARTPOLE.fitness[0], seed=0)
    text = render("initial_user", **task_prompt_values(ctx))
    assert CARTPOLE.description in text
    assert CARTPOLE.termination in text


def test_feedback_and_execution_error_carry_their_inputs_verbatim() -> None:
    feedback = "speed: [0.1, 0.2], Max: 0.2\nfitness rose to 12.3"
    assert feedback in render("feedback", feedback=feedback)
    problems = ["line 3: name 'foo' is not defined", "reward has shape (n, 2), expected (n,)"]
    text = render("execution_error", problems=problems)
    for problem in problems:
        assert f"- {problem}" in text


def test_review_prompt_shows_code_and_asks_for_json() -> None:
    values = task_prompt_values(_ctx())
    text = render("review", code="def compute_reward(x_velocity):\n    pass", **values)
    assert "def compute_reward(x_velocity)" in text
    assert '"verdict"' in text and "run backwards" in text
