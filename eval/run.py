"""Run the evaluation: ``python -m eval.run [--split holdout] [--with-baseline] [--model M] ...``.

For each case, run the factory on ``requirement.md`` unattended, then measure the
run's folder (``eval.measure``): every planned file present, dependencies
installed, modules imported, the project's own tests, and the hidden acceptance
tests. ``--split`` picks the cases (``dev``, ``holdout`` or ``all``).
``--baseline single-call`` asks the same model once per case instead
(``eval.baseline``) and measures that module the same way; ``--with-baseline``
runs both, case by case, into ``OUT/factory`` and ``OUT/baseline``, and renders
them side by side (``eval.compare``); ``--compare F B`` renders two results
folders measured earlier. ``--reference`` measures each case's hand-written
reference instead: the harness's self-test, which must pass 100 %. Results go to
``--out`` as JSON and markdown; a factory evaluation rewrites the table in
``docs/quality.md`` (the side-by-side one when there is a baseline).

Exit codes: 0 when the evaluation ran (whatever the factory scored; for
``--reference``, when every acceptance test passed), 1 when a reference failed,
2 on usage errors, 4 when the factory or the sandbox cannot be used.
"""

from __future__ import annotations

import argparse
import json
import shlex
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

from eval import baseline
from eval.baseline import BaselineModel, baseline_missing
from eval.catalog import SPLITS, Case, CaseError, UnknownCaseError, load_cases
from eval.compare import load_results, render_comparison
from eval.executors import Executor, ExecutorUnavailableError, choose_executor, one_line
from eval.factory import (
    factory_missing,
    models_file,
    run_deadline,
    run_factory,
    setting_overrides,
)
from eval.measure import Measured, measure
from eval.report import NOT_RUN, CaseResult, Meta, render_markdown, update_docs, write_results

ROOT = Path(__file__).resolve().parent.parent
RESULTS_DIR = ROOT / "eval" / "results"
DOCS = ROOT / "docs" / "quality.md"
EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_ENV = 0, 1, 2, 4


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """Read the command line."""
    parser = argparse.ArgumentParser(prog="python -m eval.run", description=__doc__.split("\n")[0])
    parser.add_argument(
        "--cases", default="", help="comma-separated case ids (default: all of --split)"
    )
    parser.add_argument(
        "--split",
        choices=("all", *SPLITS),
        default="all",
        help="the cases of this split (default all); with --cases, those of them in it",
    )
    parser.add_argument(
        "--baseline",
        choices=("single-call",),
        help="measure the same model asked once per case instead of the factory",
    )
    parser.add_argument(
        "--with-baseline",
        action="store_true",
        help="run the factory and the single-call baseline on each case, into OUT/factory "
        "and OUT/baseline, and render them side by side",
    )
    parser.add_argument(
        "--compare",
        nargs=2,
        type=Path,
        metavar=("FACTORY_DIR", "BASELINE_DIR"),
        help="render two results folders (a factory and a --baseline evaluation) side by "
        "side; runs nothing",
    )
    parser.add_argument(
        "--pipeline",
        default="lean",
        help="the factory's pipeline (default lean: the plan, the code, its tests)",
    )
    parser.add_argument(
        "--model",
        default="",
        help="serve every chat alias with this alias (factory/coder), label "
        "(ollama:qwen2.5-coder:7b, embedded) or Ollama tag (default: models.yaml)",
    )
    parser.add_argument(
        "--reference", action="store_true", help="measure the reference solutions (self-test)"
    )
    parser.add_argument("--out", type=Path, help="results folder (default eval/results/<stamp>)")
    parser.add_argument(
        "--executor",
        choices=("auto", "sandbox", "local"),
        default="auto",
        help="where code runs: the sandbox; local only for --reference (auto: sandbox, "
        "else local for --reference)",
    )
    parser.add_argument(
        "--run-timeout", type=float, default=3600, help="seconds one factory run may take"
    )
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a factory setting for the runs (stage_max_tokens=1536); repeatable, and "
        "recorded in the results' command line",
    )
    parser.add_argument(
        "--time-budget",
        type=float,
        default=0,
        help="seconds the whole evaluation may take (0: no limit); a run is cut at what is "
        "left, and cases cut or not started in time are reported as NOT RUN",
    )
    parser.add_argument(
        "--resume",
        action="store_true",
        help="keep the cases already measured in --out's results.json (same model and "
        "pipeline) and run only the others: an evaluation cut short goes on where it stopped; "
        "rows of cases outside --cases stay",
    )
    parser.add_argument("--no-docs", action="store_true", help="leave docs/quality.md alone")
    return parser.parse_args(argv)


def usage_problem(args: argparse.Namespace) -> str:
    """Say which options do not go together ("" when they all do)."""
    given = [
        name
        for name, on in (
            ("--reference", args.reference),
            ("--baseline", bool(args.baseline)),
            ("--with-baseline", args.with_baseline),
            ("--compare", bool(args.compare)),
        )
        if on
    ]
    if len(given) > 1:
        return f"{' and '.join(given)} do not go together"
    if args.compare and args.resume:
        return "--compare runs nothing, so it has nothing to resume"
    return ""


def modes_of(args: argparse.Namespace) -> tuple[str, ...]:
    """Return what the evaluation measures: reference, factory and/or baseline."""
    if args.reference:
        return ("reference",)
    if args.with_baseline:
        return ("factory", "baseline")
    return ("baseline",) if args.baseline else ("factory",)


def commit() -> str:
    """Return the short commit of the checkout, marked ``-dirty`` with uncommitted changes."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],  # noqa: S607
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],  # noqa: S607
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return f"{head}-dirty" if dirty else head


def evaluate_reference(case: Case, executor: Executor) -> CaseResult:
    """Measure the case's reference solution."""
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix=f"eval-{case.id}-") as tmp:
        measured = measure(case.reference_dir, case, executor, Path(tmp))
    return CaseResult(
        case.id,
        case.kind,
        "REFERENCE",
        measured,
        out_dir=str(case.reference_dir),
        eval_seconds=round(time.monotonic() - started, 1),
    )


def evaluate_run(
    case: Case,
    executor: Executor,
    out: Path,
    args: argparse.Namespace,
    models: Path | None,
    deadline: float = float("inf"),
) -> CaseResult:
    """Run the factory on the case's requirement (cut at ``deadline``), then measure it."""
    folder = out / case.id
    timeout = min(args.run_timeout, max(1.0, deadline - time.monotonic()))
    run = run_factory(
        case.folder / "requirement.md",
        pipeline=args.pipeline,
        out=folder / "run",
        logs=folder,
        models=models,
        timeout=timeout,
        overrides=setting_overrides(args.set),
    )
    # a run killed, or stopped by its own time cap, when the budget had shortened that cap:
    # the evaluation's budget cut it, not the case, and it measured less than the others
    capped = run.status != "COMPLETED" and run.seconds >= run_deadline(timeout)
    if (run.killed or capped) and timeout < args.run_timeout:
        return CaseResult(
            case.id,
            case.kind,
            NOT_RUN,
            reason=f"not run: cut after {run.seconds:.0f} s by the time budget "
            f"({args.time_budget:.0f} s); --resume runs it again",
        )
    result = CaseResult(
        case.id,
        case.kind,
        run.status,
        reason="" if run.status == "COMPLETED" else run.reason,
        run_id=run.run_id,
        out_dir=str(run.out_dir),
        tokens=run.tokens,
        factory_seconds=run.seconds,
    )
    if not run.out_dir.is_dir():
        result.measured = Measured(acceptance_total=case.acceptance_count())  # 0 of them passed
        return result
    return measured(result, run.out_dir, case, executor)


def measured(result: CaseResult, project: Path, case: Case, executor: Executor) -> CaseResult:
    """Measure ``project`` into ``result`` (and the time it took); return ``result``."""
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix=f"eval-{case.id}-") as tmp:
        result.measured = measure(project, case, executor, Path(tmp))
    result.eval_seconds = round(time.monotonic() - started, 1)
    return result


def evaluate_baseline(
    case: Case, executor: Executor, out: Path, model: BaselineModel
) -> CaseResult:
    """Ask ``model`` once for the case's module, write it as a run's folder, measure it.

    The prompt and the reply are kept beside the folder (``prompt.md``, ``reply.md``); a
    reply that stopped at the token limit is a CUT OFF row, with the limit in its notes.
    """
    folder = out / case.id
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "prompt.md").write_text(baseline.transcript(case), encoding="utf-8")
    try:
        reply = baseline.ask(model.chat, case)
    except Exception as exc:  # noqa: BLE001 - a failed call is the row's reason
        return CaseResult(
            case.id,
            case.kind,
            "ERROR",
            Measured(acceptance_total=case.acceptance_count()),
            baseline.describe_error(exc),
        )
    (folder / "reply.md").write_text(reply.text, encoding="utf-8")
    project = baseline.write_project(case, reply.text, folder / "run")
    result = CaseResult(
        case.id,
        case.kind,
        baseline.CUT_OFF if baseline.was_cut_off(reply) else baseline.ANSWERED,
        reason=baseline.cut_off(reply, model.max_tokens),
        out_dir=str(project),
        tokens=reply.tokens,
        factory_seconds=reply.seconds,
    )
    return measured(result, project, case, executor)


def not_run(case: Case, budget: float) -> CaseResult:
    """Return the row of a case the evaluation had no time left to start."""
    return CaseResult(
        case.id, case.kind, NOT_RUN, reason=f"not run: the time budget ({budget:.0f} s) was spent"
    )


@dataclass(frozen=True)
class Setup:
    """What every case of one evaluation is measured with."""

    args: argparse.Namespace
    executor: Executor
    models: Path | None = None  # the models file --model wrote
    model: BaselineModel | None = None  # the baseline's model, resolved once
    deadline: float = float("inf")


def evaluate(case: Case, mode: str, out: Path, setup: Setup) -> CaseResult:
    """Evaluate one case; an unexpected error becomes the row's reason, never a crash."""
    try:
        if mode == "reference":
            return evaluate_reference(case, setup.executor)
        if mode == "baseline":
            assert setup.model is not None
            return evaluate_baseline(case, setup.executor, out, setup.model)
        return evaluate_run(case, setup.executor, out, setup.args, setup.models, setup.deadline)
    except Exception as exc:  # noqa: BLE001 - one bad case must not end the evaluation
        reason = f"evaluation error: {type(exc).__name__}: {one_line(exc)}"
        try:
            expected = case.acceptance_count()
        except (OSError, SyntaxError, ValueError):
            expected = 0
        return CaseResult(case.id, case.kind, "ERROR", Measured(acceptance_total=expected), reason)


def measured_before(out: Path, meta: Meta) -> dict[str, CaseResult]:
    """Return the rows ``out/results.json`` already holds, by case (NOT RUN rows left out).

    Raises:
        ValueError: the results are unreadable, or measured another model or pipeline (for
            the baseline: a model served by another provider or with other sampling).

    """
    saved = out / "results.json"
    if not saved.is_file():
        return {}
    try:
        data = json.loads(saved.read_text(encoding="utf-8"))
        before = data["meta"]
        rows = [CaseResult.from_json(r) for r in data["cases"]]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ValueError(f"--resume: {saved} cannot be read: {exc}") from exc
    for key in ("mode", "model", "pipeline", *(("served_by",) if meta.mode == "baseline" else ())):
        if before.get(key) != getattr(meta, key):
            raise ValueError(
                f"--resume: {saved} measured {key} {before.get(key)!r}, not "
                f"{getattr(meta, key)!r}; use another --out"
            )
    return {
        r.case: replace(r, commit=r.commit or before.get("commit", ""))
        for r in rows
        if r.run != NOT_RUN
    }


def compare_folders(args: argparse.Namespace, names: list[str]) -> int:
    """Render two results folders side by side (``--compare``); return the exit code."""
    catalog = load_cases()
    splits = {case.id: case.split for case in catalog}
    styles = {case.id: case.style for case in catalog}
    try:
        factory_meta, factory = load_results(args.compare[0], splits, styles)
        baseline_meta, baseline_rows = load_results(args.compare[1], splits, styles)
    except ValueError as exc:
        print(f"eval: --compare: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if (factory_meta.mode, baseline_meta.mode) != ("factory", "baseline"):
        print(
            f"eval: --compare wants a factory and a baseline evaluation, in that order, not "
            f"{factory_meta.mode} and {baseline_meta.mode}",
            file=sys.stderr,
        )
        return EXIT_USAGE

    def chosen(row: CaseResult) -> bool:
        return (not names or row.case in names) and args.split in ("all", row.split)

    table = render_comparison(
        [r for r in factory if chosen(r)],
        factory_meta,
        [r for r in baseline_rows if chosen(r)],
        baseline_meta,
    )
    print(table)
    if not args.no_docs:
        update_docs(DOCS, table)
        print(f"\neval: rewrote the results in {DOCS}")
    return EXIT_OK


def model_label(args: argparse.Namespace) -> str:
    """Name the models measured: ``--model``, else the models file ``--set`` gave, else none."""
    if args.model:
        return args.model
    files = [
        value.strip()
        for name, _, value in (pair.partition("=") for pair in args.set)
        if name.strip().lower().replace("-", "_") == "models_file"
    ]
    return f"models file {Path(files[-1]).name}" if files else "models.yaml defaults"


def meta_for(mode: str, args: argparse.Namespace, command: str, setup: Setup) -> Meta:
    """Return what the ``mode`` results are measured with."""
    pipelines = {"reference": "-", "baseline": baseline.PIPELINE}
    return Meta(
        mode=mode,
        model=model_label(args),
        pipeline=pipelines.get(mode, args.pipeline),
        commit=commit(),
        date=f"{datetime.now(UTC):%Y-%m-%d}",
        executor=setup.executor.name,
        command=command,
        served_by=setup.model.served_by if mode == "baseline" and setup.model else "",
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Run the evaluation; return the exit code."""
    args = parse_args(argv)
    command = shlex.join(
        ["python", "-m", "eval.run", *(argv if argv is not None else sys.argv[1:])]
    )
    names = [c.strip() for c in args.cases.split(",") if c.strip()]
    if problem := usage_problem(args):
        print(f"eval: {problem}", file=sys.stderr)
        return EXIT_USAGE
    try:
        cases = load_cases(names, split=args.split)
        overrides = setting_overrides(args.set)
    except (UnknownCaseError, CaseError, ValueError) as exc:
        print(f"eval: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if args.compare:
        return compare_folders(args, names)
    modes = modes_of(args)
    try:
        executor = choose_executor(args.executor, reference=args.reference)
    except ExecutorUnavailableError as exc:
        print(f"eval: {exc}", file=sys.stderr)
        return EXIT_ENV
    missing = (factory_missing() if "factory" in modes else "") or (
        baseline_missing() if "baseline" in modes else ""
    )
    if missing:
        print(f"eval: {missing}", file=sys.stderr)
        return EXIT_ENV
    suffix = "" if modes == ("factory",) else "-" + "-".join(modes)
    out = (args.out or RESULTS_DIR / f"{datetime.now(UTC):%Y%m%d-%H%M%S}{suffix}").resolve()
    out.mkdir(parents=True, exist_ok=True)
    models = (
        models_file(args.model, out / "models.yaml") if args.model and not args.reference else None
    )
    setup = Setup(args, executor, models)
    if "baseline" in modes:
        try:
            model = baseline.resolve(baseline.settings_for(overrides, models))
        except Exception as exc:  # noqa: BLE001 - no model, bad weights: say why and stop
            print(f"eval: the baseline's model: {type(exc).__name__}: {exc}", file=sys.stderr)
            return EXIT_ENV
        setup = replace(setup, model=model)
    print(f"eval: {len(cases)} case(s), code runs in {executor.name}; results in {out}", flush=True)
    folders = {mode: out / mode if len(modes) > 1 else out for mode in modes}
    metas = {mode: meta_for(mode, args, command, setup) for mode in modes}
    try:
        kept = {m: measured_before(folders[m], metas[m]) if args.resume else {} for m in modes}
    except ValueError as exc:
        print(f"eval: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if args.time_budget > 0:
        setup = replace(setup, deadline=time.monotonic() + args.time_budget)
    results = run_cases(cases, modes, folders, metas, kept, setup)
    for mode in modes:  # the totals and header of the table, kept rows included
        write_results(folders[mode], results[mode], metas[mode])
    if len(modes) > 1:
        table = render_comparison(
            results["factory"], metas["factory"], results["baseline"], metas["baseline"]
        )
        (out / "comparison.md").write_text(table + "\n", encoding="utf-8")
    else:
        table = render_markdown(results[modes[0]], metas[modes[0]])
    print("\n" + table)
    if "factory" in modes and not args.no_docs:
        update_docs(DOCS, table)
        print(f"\neval: rewrote the results in {DOCS}")
    if args.reference and not all(r.passed for r in results["reference"]):
        return EXIT_FAILED
    return EXIT_OK


def run_cases(
    cases: Sequence[Case],
    modes: Sequence[str],
    folders: dict[str, Path],
    metas: dict[str, Meta],
    kept: dict[str, dict[str, CaseResult]],
    setup: Setup,
) -> dict[str, list[CaseResult]]:
    """Evaluate each case in each mode, in turn, writing the results after each one.

    Rows kept from before for cases outside this selection (``--resume`` with other
    ``--cases``) stay in the results, after this selection's: a folder measured case by
    case holds every case it measured.
    """
    chosen = {case.id for case in cases}
    outside = {m: [r for key, r in kept[m].items() if key not in chosen] for m in modes}
    results: dict[str, list[CaseResult]] = {mode: [] for mode in modes}
    for number, case in enumerate(cases, 1):
        for mode in modes:
            label = f"[{number}/{len(cases)}] {case.id}" + (f" ({mode})" if len(modes) > 1 else "")
            before = kept[mode].get(case.id)
            if before is not None:
                results[mode].append(replace(before, split=case.split, style=case.style))
                print(f"{label}: kept (commit {before.commit})")
                continue
            if time.monotonic() >= setup.deadline - 60:  # no time left to run a case
                result = not_run(case, setup.args.time_budget)
            else:
                print(f"{label} ...", flush=True)
                result = evaluate(case, mode, folders[mode], setup)
                result = replace(result, commit=metas[mode].commit)
            results[mode].append(replace(result, split=case.split, style=case.style))
            print(f"    {results[mode][-1].line()}", flush=True)
            # after every case: a cut-short evaluation keeps its rows
            write_results(folders[mode], results[mode] + outside[mode], metas[mode])
    for mode in modes:
        for row in outside[mode]:
            print(f"{row.case}: kept (commit {row.commit}; not among --cases)")
    return {mode: results[mode] + outside[mode] for mode in modes}


if __name__ == "__main__":
    sys.exit(main())
