"""A request for a person, filled in from the run: rule, sources, estimate, alternatives.

``graph/oversight/interrupts.decide`` calls ``enrich`` on every pause before it asks anyone:
the matched approval rule (``control/approval_rules.py``) gives the roles, the
priority and the deadline; the run's state gives the sources (the stage
records and files the pause is about), the estimated cost to finish, the risk
factors and the confidence; and the asking team proposes alternatives by
code (tools before models), which the rule then screens. Everything here is
read from the state and the settings, so a node that runs again up to its
interrupt builds the same request. ``course_update`` turns a chosen
alternative into the run's ``course``, which the stages read: the model alias
(``StageSetup.model``), the dropped stages (``dropped``) and the narrowed scope
(``notes_for``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from langgraph.runtime import Runtime

from devfactory.contracts import StageOutcome
from devfactory.control.approval_rules import (
    RULE_PREFIX,
    Alternative,
    Facts,
    alternative_id,
    auto_approves,
    roles_for,
    rule_for,
    screen_alternatives,
)
from devfactory.control.hitl import Decision, Estimate, Pause
from devfactory.control.unattended import least_trusted
from devfactory.graph.context import Context
from devfactory.graph.oversight import metering
from devfactory.graph.state import final_checks_of, stage_plan_of

CHEAP_ALIAS: Final = "factory/cheap"
"""The model alias the ``cheaper_model`` alternative moves the remaining stages to."""

MAX_SOURCES: Final = 40


def needs_of(state: Mapping[str, Any]) -> dict[str, tuple[str, ...]]:
    """Return each stage of the run's pipeline and the stages it reads."""
    planned = stage_plan_of(state)
    if planned:
        return {s["team"]: tuple(s["needs"]) for s in planned["stages"]}
    from devfactory.pipelines import load_pipeline

    pipeline = load_pipeline(state.get("pipeline") or "mvp")
    return {s.team: tuple(s.needs) for s in pipeline.stages}


def estimate(state: Mapping[str, Any]) -> Estimate:
    """Estimate the cost to finish: the spend so far per finished stage, times the stages left."""
    spent = metering.run_spend(state)
    stages = state.get("stages") or {}
    pipeline = needs_of(state)
    done = [t for t in pipeline if t in stages]
    left = [t for t in pipeline if t not in stages and t not in dropped(state)]
    per = max(1, len(done))
    tokens = spent.tokens * len(left) // per
    cost = spent.cost_usd * len(left) / per
    basis = (
        f"estimate: {spent.tokens:,} tokens and ${spent.cost_usd:.4f} spent over "
        f"{len(done)} finished stage(s), times {len(left)} stage(s) left"
        if done
        else f"estimate: the {spent.tokens:,} tokens spent so far stand for one stage, "
        f"times {len(left)} stage(s) left"
    )
    return Estimate(
        spent_tokens=spent.tokens,
        spent_cost_usd=round(spent.cost_usd, 6),
        stages_done=len(done),
        stages_left=len(left),
        tokens_to_finish=tokens,
        cost_to_finish_usd=round(cost, 6),
        basis=basis,
    )


def sources(pause: Pause, state: Mapping[str, Any]) -> tuple[str, ...]:
    """Return the stage records and files ``pause`` is about."""
    found: list[str] = []
    stages = state.get("stages") or {}
    if pause.kind == "governance":
        found += ["requirement", "governance assessment"]
    if pause.team:
        found.append(f"stage {pause.team}")
        found.extend(f"file {d.path}" for d in state.get("drafts") or [])
    if pause.kind in ("review", "merge", "budget"):
        for team, record in stages.items():
            found.append(f"stage record {team} ({record.outcome.value})")
            if pause.kind != "budget" and record.result is not None:
                found.extend(f"file {a.path}" for a in record.result.artifacts)
    if pause.kind == "budget":
        found.extend(f"spend {key}" for key in sorted(state.get("spend") or {}))
    unique = list(dict.fromkeys(found))
    return tuple(s[:300] for s in unique[:MAX_SOURCES])


def risk_and_confidence(pause: Pause, state: Mapping[str, Any]) -> tuple[list[str], float | None]:
    """Return the risk factors and the confidence behind ``pause``.

    A governance pause on later text (``scope``) names that text's factors in
    its details; the run's own approval, the run's assessment.
    """
    gov = state.get("governance")
    if pause.kind == "governance":
        factors = pause.details.get("risk_factors") or (gov.risk_factors if gov else [])
        return list(factors), gov.confidence if gov else None
    if pause.kind in ("blocked", "clarification"):  # the stage's last report, if any
        candidate = state.get("candidate")
        return (list(candidate.blockers), candidate.confidence) if candidate else ([], None)
    if pause.kind == "budget":
        near = pause.details.get("near") or []
        return [f"{b.get('scope', '')} {b.get('metric', '')} near its cap" for b in near], None
    passed = [  # the lowest confidence among them is the request's
        r.result.confidence
        for r in (state.get("stages") or {}).values()
        if r.result is not None and r.outcome is StageOutcome.PASSED
    ]
    return list(gov.risk_factors if gov else []), min(passed) if passed else None


def dropped(state: Mapping[str, Any]) -> dict[str, str]:
    """Return the stages a person dropped, each with who dropped it."""
    course = state.get("course") or {}
    return {k.removeprefix("drop:"): v for k, v in course.items() if k.startswith("drop:")}


def propose(pause: Pause, state: Mapping[str, Any], runtime: Runtime[Context]) -> list[Alternative]:
    """Return the asking team's alternatives to ``pause``, each with its estimated cost.

    Made by code from the run's state: a budget pause offers the cheaper model
    and dropping each stage still to run; a blocked stage the cheaper model,
    dropping itself and a narrowed scope; governance the cheaper model and a
    narrowed scope.
    """
    est = estimate(state)
    per_tokens = est.tokens_to_finish // max(1, est.stages_left)
    per_cost = est.cost_to_finish_usd / max(1, est.stages_left)
    ratio = runtime.context.settings.serving.cheap_model_cost_ratio
    course = state.get("course") or {}
    out: list[Alternative] = []
    cheaper = Alternative(
        id=alternative_id("cheaper_model"),
        kind="cheaper_model",
        title=f"continue with the cheaper model ({CHEAP_ALIAS}) for the remaining stages",
        pros=(f"costs about {ratio:.0%} of the estimate to finish",),
        cons=("a smaller model may need more attempts or produce weaker work",),
        estimated_cost_usd=round(est.cost_to_finish_usd * ratio, 6),
        estimated_tokens=est.tokens_to_finish,
    )
    if pause.kind in ("budget", "blocked", "governance") and course.get("model") != CHEAP_ALIAS:
        out.append(cheaper)
    stages, gone = state.get("stages") or {}, dropped(state)
    targets = []
    if pause.kind == "budget":
        targets = [t for t in needs_of(state) if t not in stages and t != pause.team]
    elif pause.kind == "blocked" and pause.team:
        targets = [pause.team]
    for stage in (t for t in targets if t not in gone):
        out.append(
            Alternative(
                id=alternative_id("drop_stage", stage),
                kind="drop_stage",
                title=f"drop the stage {stage} and go on without it",
                pros=(f"saves about {per_tokens:,} tokens (${per_cost:.4f})",),
                cons=(f"the run delivers nothing {stage} would have made",),
                estimated_cost_usd=round(max(0.0, est.cost_to_finish_usd - per_cost), 6),
                estimated_tokens=max(0, est.tokens_to_finish - per_tokens),
                stage=stage,
            )
        )
    # governance screens the narrowed text as a modify (while rounds are left to screen it);
    # a blocked stage screens it as guidance, and every later stage works to it
    if (pause.kind == "governance" and "modify" in pause.actions) or pause.kind == "blocked":
        out.append(
            Alternative(
                id=alternative_id("narrow_scope"),
                kind="narrow_scope",
                title="continue with a narrowed scope (type it as the answer's text)",
                pros=("leaves out what raised the risk or blocked the team; screened again",),
                cons=("the run builds less than was asked",),
                estimated_cost_usd=est.cost_to_finish_usd or None,
                estimated_tokens=est.tokens_to_finish or None,
            )
        )
    return out


def enrich(
    pause: Pause, state: Mapping[str, Any], runtime: Runtime[Context], *, scope: bool = False
) -> Pause:
    """Fill ``pause``'s request fields from the run's state and the matched approval rule.

    ``scope``: a governance pause on text past the approved scope (``graph/screening/scope.py``),
    which takes no alternatives (its node passes or refuses the text, nothing else).
    """
    settings = runtime.context.settings
    policy = runtime.context.get_policy()
    gov = state.get("governance")
    rule = rule_for(policy, pause.kind, pause.team, gov.risk if gov is not None else None)
    factors, confidence = risk_and_confidence(pause, state)
    screened = screen_alternatives(
        rule,
        [] if scope else propose(pause, state, runtime),
        needs=needs_of(state),
        done=set(state.get("stages") or {}),
    )
    est = estimate(state)
    deadline = rule.deadline_s or settings.runs.pause_expiry_s or None
    reasoning = _reasoning(pause, state, factors)
    return pause.model_copy(
        update={
            "rule": rule.name,
            "roles": roles_for(policy, rule, pause.kind),
            "reasoning": reasoning[:4000],
            "sources": sources(pause, state),
            "estimate": est,
            "risk_factors": tuple(f[:300] for f in factors[:20]),
            "confidence": confidence,
            "priority": rule.priority,
            "deadline_s": None if pause.kind == "hold" else deadline,
            "alternatives": screened.kept[:10],
            "refused_alternatives": tuple(r[:300] for r in screened.removed[:10]),
        }
    )


def _reasoning(pause: Pause, state: Mapping[str, Any], factors: list[str]) -> str:
    """Say why the run asks: the kind's own reasons, from the state."""
    gov = state.get("governance")
    if pause.kind == "governance":
        return "; ".join(gov.reasons if gov else []) or "the policy asks an approver"
    if pause.kind == "blocked":
        verdict = state.get("verdict")
        return verdict.reason if verdict is not None and verdict.reason else pause.question
    if pause.kind == "clarification":
        escalation = state.get("escalation")
        return escalation.reason if escalation is not None and escalation.reason else pause.question
    if pause.kind == "budget":
        return "the run reached the warning line: " + "; ".join(factors)
    return pause.question


def facts(
    pause: Pause, state: Mapping[str, Any], runtime: Runtime[Context], *, scope: bool = False
) -> Facts:
    """Gather what the rule's thresholds and checks measure for ``pause``.

    A governance request's risk factors are all new, but on later text
    (``scope``): there, those the run was approved with are not.
    """
    checks = final_checks_of(state)
    stages = state.get("stages") or {}
    gov = state.get("governance")
    approved = set(gov.risk_factors) if scope and gov is not None else set()
    verdict = metering.check(state, pause.team or "", runtime.context)
    return Facts(
        cost_to_finish_usd=pause.estimate.cost_to_finish_usd if pause.estimate else None,
        tokens_to_finish=pause.estimate.tokens_to_finish if pause.estimate else None,
        confidence=pause.confidence,
        new_risk_factors=tuple(f for f in pause.risk_factors if f not in approved)
        if pause.kind == "governance"
        else (),
        final_checks_passed=None if checks is None else bool(checks.checks) and not checks.problems,
        blocked_stages=tuple(t for t, r in stages.items() if r.outcome is StageOutcome.BLOCKED),
        budget_breaches=tuple(b.describe() for b in (*verdict.near, *verdict.exhausted)),
    )


def auto_decision(
    pause: Pause, state: Mapping[str, Any], runtime: Runtime[Context], *, scope: bool = False
) -> Decision | None:
    """Return the rule's approval of ``pause`` when it approves without a person, else None."""
    if "approve" not in pause.actions or not pause.roles:
        return None
    policy = runtime.context.get_policy()
    rule = next((r for r in policy.approval_rules if r.name == pause.rule), None)
    if rule is None:
        return None
    ok, reasons = auto_approves(rule, facts(pause, state, runtime, scope=scope))
    if not ok:
        return None
    text = f"auto-approved by rule {rule.name}: " + "; ".join(reasons)
    return Decision(
        action="approve",
        text=text[:8000],
        by=f"{RULE_PREFIX}{rule.name}",
        role=least_trusted(pause.roles),
    )


def course_update(
    pause: Pause, state: Mapping[str, Any], runtime: Runtime[Context], decision: Decision
) -> dict[str, str]:
    """Return the run's ``course`` entries an alternative of ``pause``'s request sets ({} for none).

    ``cheaper_model`` moves the remaining stages to ``factory/cheap``;
    ``drop_stage`` marks its stage dropped (it ends SKIPPED without model
    work); ``narrow_scope`` keeps the narrowed text every later stage reads.
    """
    chosen = enrich(pause, state, runtime).alternative(decision.alternative or "")
    if chosen is None:
        return {}
    if chosen.kind == "cheaper_model":
        return {"model": CHEAP_ALIAS}
    if chosen.kind == "drop_stage":
        return {f"drop:{chosen.stage}": decision.actor}
    return {"scope": decision.text.strip()[:4000]}
