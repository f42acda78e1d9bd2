"""Run the evaluation: ``python -m eval.run [--cases a,b] [--pipeline mvp] [--model M] ...``.

For each case, run the factory on ``requirement.md`` unattended, then measure the
run's folder (``eval.measure``): every planned file present, dependencies
installed, modules imported, the project's own tests, and the hidden acceptance
tests. ``--reference`` measures each case's hand-written reference instead: the
harness's self-test, which must pass 100 %. Results go to ``--out`` as JSON and
markdown; a factory evaluation also rewrites the table in ``docs/quality.md``.

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
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from eval.catalog import Case, CaseError, UnknownCaseError, load_cases
from eval.executors import Executor, ExecutorUnavailableError, choose_executor, one_line
from eval.factory import factory_missing, models_file, run_factory, setting_overrides
from eval.measure import Measured, measure
from eval.report import NOT_RUN, CaseResult, Meta, render_markdown, update_docs, write_results

ROOT = Path(__file__).resolve().parent.parent
RESULTS_DIR = ROOT / "eval" / "results"
DOCS = ROOT / "docs" / "quality.md"
EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_ENV = 0, 1, 2, 4


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """Read the command line."""
    parser = argparse.ArgumentParser(prog="python -m eval.run", description=__doc__.split("\n")[0])
    parser.add_argument("--cases", default="", help="comma-separated case ids (default: all)")
    parser.add_argument("--pipeline", default="mvp", help="the factory's pipeline (default mvp)")
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
        "pipeline) and run only the others: an evaluation cut short goes on where it stopped",
    )
    parser.add_argument("--no-docs", action="store_true", help="leave docs/quality.md alone")
    return parser.parse_args(argv)


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
    if run.killed and timeout < args.run_timeout:  # the evaluation's budget cut it, not the case
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
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix=f"eval-{case.id}-") as tmp:
        result.measured = measure(run.out_dir, case, executor, Path(tmp))
    result.eval_seconds = round(time.monotonic() - started, 1)
    return result


def not_run(case: Case, budget: float) -> CaseResult:
    """Return the row of a case the evaluation had no time left to start."""
    return CaseResult(
        case.id, case.kind, NOT_RUN, reason=f"not run: the time budget ({budget:.0f} s) was spent"
    )


def evaluate(
    case: Case,
    executor: Executor,
    out: Path,
    args: argparse.Namespace,
    models: Path | None,
    deadline: float = float("inf"),
) -> CaseResult:
    """Evaluate one case; an unexpected error becomes the row's reason, never a crash."""
    try:
        if args.reference:
            return evaluate_reference(case, executor)
        return evaluate_run(case, executor, out, args, models, deadline)
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
        ValueError: the results are unreadable, or measured another model or pipeline.

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
    for key in ("mode", "model", "pipeline"):
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


def main(argv: Sequence[str] | None = None) -> int:
    """Run the evaluation; return the exit code."""
    args = parse_args(argv)
    try:
        cases = load_cases([c.strip() for c in args.cases.split(",") if c.strip()])
        setting_overrides(args.set)
    except (UnknownCaseError, CaseError, ValueError) as exc:
        print(f"eval: {exc}", file=sys.stderr)
        return EXIT_USAGE
    try:
        executor = choose_executor(args.executor, reference=args.reference)
    except ExecutorUnavailableError as exc:
        print(f"eval: {exc}", file=sys.stderr)
        return EXIT_ENV
    if not args.reference and (missing := factory_missing()):
        print(f"eval: {missing}", file=sys.stderr)
        return EXIT_ENV
    stamp = f"{datetime.now(UTC):%Y%m%d-%H%M%S}" + ("-reference" if args.reference else "")
    out = (args.out or RESULTS_DIR / stamp).resolve()
    out.mkdir(parents=True, exist_ok=True)
    models = (
        models_file(args.model, out / "models.yaml") if args.model and not args.reference else None
    )
    print(f"eval: {len(cases)} case(s), code runs in {executor.name}; results in {out}", flush=True)

    meta = Meta(
        mode="reference" if args.reference else "factory",
        model=args.model or "models.yaml defaults",
        pipeline="-" if args.reference else args.pipeline,
        commit=commit(),
        date=f"{datetime.now(UTC):%Y-%m-%d}",
        executor=executor.name,
        command=shlex.join(
            ["python", "-m", "eval.run", *(argv if argv is not None else sys.argv[1:])]
        ),
    )
    try:
        kept = measured_before(out, meta) if args.resume else {}
    except ValueError as exc:
        print(f"eval: {exc}", file=sys.stderr)
        return EXIT_USAGE
    results: list[CaseResult] = []
    deadline = time.monotonic() + args.time_budget if args.time_budget > 0 else float("inf")
    for number, case in enumerate(cases, 1):
        if case.id in kept:
            results.append(kept[case.id])
            print(f"[{number}/{len(cases)}] {case.id}: kept (commit {kept[case.id].commit})")
            continue
        if time.monotonic() >= deadline - 60:  # no time left to run a case
            results.append(not_run(case, args.time_budget))
        else:
            print(f"[{number}/{len(cases)}] {case.id} ...", flush=True)
            results.append(
                replace(evaluate(case, executor, out, args, models, deadline), commit=meta.commit)
            )
        print(f"    {results[-1].line()}", flush=True)
        write_results(out, results, meta)  # after every case: a cut-short evaluation keeps its rows
    write_results(out, results, meta)  # the totals and header of the table, kept rows included
    table = render_markdown(results, meta)
    print("\n" + table)
    if not args.reference and not args.no_docs:
        update_docs(DOCS, table)
        print(f"\neval: rewrote the results in {DOCS}")
    if args.reference and not all(r.passed for r in results):
        return EXIT_FAILED
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
