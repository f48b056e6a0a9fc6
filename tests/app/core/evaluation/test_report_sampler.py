"""Issue 20: the report says which sampler the rollouts used, never "solver=, steps=0"."""
from __future__ import annotations

from app.core.evaluation.config import EvalConfig, RolloutSettings
from app.core.evaluation.evaluate import run_evaluation
from app.core.evaluation.report import _config_section, samplers_used
from app.core.evaluation.summary import load_summary

EXPERT = "app.core.evaluation.expert_planner:mug_grasp_expert"


def test_report_names_the_sampler_setting_and_what_was_recorded(tmp_path):
    out = str(tmp_path / "e.h5")
    run_evaluation(EvalConfig(policies=[EXPERT], seeds=[0], perturbations=[],
                              settings=RolloutSettings(scene="mug_grasp", record_samples=2,
                                                       max_steps=16)),
                   out, workers=0, durable=False)
    s = load_summary(out)
    html = _config_section(s)
    assert "solver=," not in html and "steps=0" not in html
    assert "solver=each policy&#x27;s control sampler" in html and "steps=its default" in html
    assert "<th>sampler used</th>" in html
    used = samplers_used(s)
    assert set(used) == {"mug_grasp_expert"}
    # the expert planner's batches carry no replay facts: said, not invented
    assert used["mug_grasp_expert"] in ("not recorded", "expert")
