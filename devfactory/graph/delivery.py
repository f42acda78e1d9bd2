"""The merge gate of a run that delivers into an existing repository.

After the review, the run's branch ``devfactory/<run-id>`` is pushed back to the
repository, and merging it into the base branch is a person's decision (the
"merge" pause, answered by an approver or an admin): approve fast-forwards the
base branch when that is safe (``repos/repository.merge_into_base``), reject
leaves the branch for review. An unattended run never merges by itself.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TypedDict

from langgraph.graph import END
from langgraph.runtime import Runtime
from langgraph.types import Command

from devfactory.contracts import RunOutcome
from devfactory.control.hitl import DecisionRecord, Pause, make_pause
from devfactory.graph.context import Context
from devfactory.graph.oversight.interrupts import decide
from devfactory.graph.oversight.phases import Mover, task_key
from devfactory.graph.run_nodes import RunSetup
from devfactory.graph.state import RunState, RunUpdate, final_checks_of
from devfactory.repos.git_credentials import forget
from devfactory.repos.remotes import HostPolicy
from devfactory.repos.repository import (
    GitOutcome,
    RepositoryError,
    changed_files,
    merge_into_base,
    push_branch,
)


class GitReach(TypedDict):
    """How git reaches a run's repository: the keywords of push_branch and merge_into_base."""

    timeout: float
    hosts: HostPolicy
    resolve_seconds: float
    roots: Sequence[Path]
    data_dir: Path


def merge_pause(state: RunState, runtime: Runtime[Context], pushed: GitOutcome) -> Pause:
    """Build the merge gate's question, as a merge request reads: branch, changes, checks."""
    delivery = state["repository"]
    folder = Path(delivery.folder)
    try:
        timeout = runtime.context.settings.repos.repo_git_timeout_s
        changed = changed_files(folder, delivery, timeout=timeout)
    except RepositoryError as exc:
        changed = [f"(the changes could not be listed: {exc})"]
    built = final_checks_of(state)
    checks = [f"{c.name}: {'passed' if c.ok else 'failed'}" for c in built.checks] if built else []
    question = "\n".join(
        [
            f"Merge {delivery.branch} into {delivery.base} of {delivery.source}?",
            pushed.message,
            f"Changes against {delivery.base} ({delivery.base_commit[:12]}): "
            + (", ".join(changed[:60]) or "none"),
            "Checks: " + (", ".join(checks) or "none ran"),
        ]
    )
    return make_pause(
        runtime.context.get_policy(),
        "merge",
        title=f"merge {delivery.branch} into {delivery.base}: {len(changed)} files changed",
        question=question[:4000],
        details={
            "branch": delivery.branch,
            "base": delivery.base,
            "base_commit": delivery.base_commit,
            "source": delivery.source,
            "pushed": pushed.ok,
            "changed": changed[:200],
            "checks": checks,
        },
    )


def merge(state: RunState, runtime: Runtime[Context], setup: RunSetup) -> Command[str]:
    """Push the run's branch back to its repository, then ask whether to merge it into the base.

    Approve fast-forwards the base branch when that is safe
    (``repos/repository.merge_into_base``); reject leaves the branch for
    review. Either way the run is COMPLETED: its work is on the branch, and
    the outcome says whether it was merged. An unattended run never merges by
    itself (the policy's ``unattended.merge`` rule: "wait" leaves the branch
    for review without pausing). Pushing again when the node resumes after the
    pause is a no-op or a fast-forward, so the node is idempotent up to the pause.
    """
    settings, mover = runtime.context.settings, Mover(state, runtime)
    delivery = state["repository"]  # the repository the run delivers into
    folder = Path(delivery.folder)
    built = final_checks_of(state)
    # how git reaches the repository, for the push and the merge alike
    reach = GitReach(
        timeout=settings.repos.repo_git_timeout_s,
        hosts=HostPolicy.parse(settings.repos.repo_allowed_hosts),
        resolve_seconds=settings.repos.repo_resolve_timeout_s,
        roots=settings.repos.repo_local_roots,
        data_dir=settings.storage.data_dir,
    )
    pushed = push_branch(folder, delivery, **reach)
    policy = runtime.context.get_policy()
    if state.get("unattended") and policy.unattended.merge == "wait":
        reason = f"{pushed.message}; an unattended run never merges by itself"
        forget(settings.storage.data_dir, delivery.run_id)
        done = RunOutcome.completed(built).model_copy(update={"reason": reason})
        return Command(goto=END, update=mover.end(done, actor="policy", reason=reason))
    decision = decide(merge_pause(state, runtime, pushed), state, runtime)
    update: RunUpdate = {"decisions": {task_key(): DecisionRecord.of("merge", decision)}}
    if decision.action == "approve":
        reason = merge_into_base(folder, delivery, **reach).message
    else:
        reason = f"{pushed.message}; not merged: {decision.summary()}"
    # delivered: its credentials are needed no more
    forget(settings.storage.data_dir, delivery.run_id)
    done = RunOutcome.completed(built).model_copy(update={"reason": reason[:4000]})
    update |= mover.end(done, actor=decision.actor, reason=reason[:2000])
    return Command(goto=END, update=update)
