"""The model server's benchmarks: their arithmetic, and their rows in ``make bench``'s table."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bench import suite
from bench.case_bench import command, compared, dev_case, row
from bench.decode_bench import aggregate, ratios, summary
from bench.served import PROMPTS, mapped_pss_kib
from bench.workers_bench import memory_sample
from eval.catalog import load_cases

SMAPS = """\
55d0c0000000-55d0c0100000 r-xp 00000000 fd:01 131 /usr/bin/llama-server
Rss:                1024 kB
Pss:                 512 kB
7f0000000000-7f0010000000 r--p 00000000 fd:01 77 /data/models/qwen.gguf
Rss:              262144 kB
Pss:              131072 kB
VmFlags: rd mr mw me sd
7f0010000000-7f0020000000 rw-p 00000000 00:00 0
Pss:              999999 kB
7f0020000000-7f0030000000 r--p 10000000 fd:01 77 /data/models/qwen.gguf
Pss:                2048 kB
"""


def _timing(tokens: int, ms: float) -> dict[str, Any]:
    return {"predicted_n": tokens, "predicted_ms": ms}


def test_a_round_decodes_its_tokens_over_the_longest_sequence_and_over_the_wall() -> None:
    got = aggregate([_timing(64, 4000), _timing(64, 3200)], wall_s=5.0)
    assert got["tokens"] == 128
    assert got["decode_tokens_per_s"] == 32.0  # 128 tokens side by side in 4 s, not in 7.2 s
    assert got["wall_tokens_per_s"] == 25.6


def test_rounds_are_summed_up_by_their_median() -> None:
    rounds = [aggregate([_timing(64, ms)], wall_s=ms / 1000) for ms in (4000, 2000, 3200)]
    got = summary(rounds)
    assert got["decode_tokens_per_s"] == 20.0  # 64 tokens in 3.2 s: the middle round
    assert got["samples"] == [16.0, 32.0, 20.0]


def test_ratios_are_over_one_sequence() -> None:
    by = {"1": {"decode_tokens_per_s": 14.4}, "4": {"decode_tokens_per_s": 36.0}}
    assert ratios(by) == {"1": 1.0, "4": 2.5}
    assert ratios({"4": {"decode_tokens_per_s": 36.0}}) == {}


def test_every_sequence_of_the_widest_round_has_its_own_prompt() -> None:
    assert len(set(PROMPTS)) == len(PROMPTS) >= 4


def test_the_pss_of_the_model_file_counts_only_its_mappings() -> None:
    assert mapped_pss_kib(SMAPS) == 131072 + 2048
    assert mapped_pss_kib(SMAPS, suffix="llama-server") == 512
    assert mapped_pss_kib("") == 0


def test_a_memory_sample_sums_the_server_and_the_workers() -> None:
    server = {"pss_mib": 600.0, "weights_pss_mib": 150.0}
    workers = [{"pss_mib": 130.0, "weights_pss_mib": 0.0}] * 4
    got = memory_sample(server, workers)
    assert got["total_pss_mib"] == 1120.0
    assert got["weights_pss_mib"] == 150.0
    assert got["workers_weights_pss_mib"] == 0.0


def _decode(one: float, two: float, four: float) -> dict[str, Any]:
    by = {n: {"decode_tokens_per_s": v} for n, v in (("1", one), ("2", two), ("4", four))}
    return {"by_parallel": by}


@pytest.mark.parametrize(("four", "met"), [(26.0, True), (25.0, False)])
def test_the_decoding_target_is_four_sequences_over_one(four: float, met: bool) -> None:
    two, judged = suite.decoding(_decode(14.0, 20.0, four))
    assert two.target is None and two.ratio == pytest.approx(20 / 14)
    assert judged.reference_value == 14.0
    assert judged.met is met  # 1.8 x 14 = 25.2


def _workers(one: float, four: float, in_workers: float) -> dict[str, Any]:
    memory = memory_sample(
        {"pss_mib": 600.0, "weights_pss_mib": 150.0},
        [{"pss_mib": 130.0, "weights_pss_mib": in_workers}] * 4,
    )
    return {
        "tokens_per_call": 64,
        "runs_per_minute": {"1": one, "4": four},
        "memory_4_workers": {**memory, "model_file_mib": 468.6},
    }


def test_the_workers_target_is_four_workers_over_one() -> None:
    rate, total, weights = suite.workers(_workers(2.0, 3.2, 0.0))
    assert rate.ratio == 1.6 and rate.met is True
    assert suite.workers(_workers(2.0, 3.1, 0.0))[0].met is False
    assert total.value == 1120.0 and total.target is None
    assert weights.value == 0.0 and weights.met is True


def test_weights_mapped_by_a_worker_miss_the_one_copy_target() -> None:
    weights = suite.workers(_workers(2.0, 3.2, 40.0))[2]
    assert weights.value == 160.0
    assert weights.met is False


def test_no_memory_sample_gives_no_memory_rows() -> None:
    result = _workers(2.0, 3.2, 0.0)
    result["memory_4_workers"] = {"model_file_mib": 468.6}
    assert len(suite.workers(result)) == 1


def test_the_rows_render_in_the_table() -> None:
    rows = suite.decoding(_decode(14.0, 20.0, 36.0)) + suite.workers(_workers(2.0, 3.2, 0.0))
    text = suite.table(rows)
    assert "| llama-server aggregate decoding, 4 sequences at once | 36 tok/s |" in text
    assert "1 sequence, same server: 14 tok/s | 2.57x | >= 1.8x | yes |" in text
    assert "| PSS of the model file in the 4 workers | 0 MiB | in the server: 150 MiB |" in text


def test_the_case_bench_times_only_dev_cases() -> None:
    held_out = next(c.id for c in load_cases(split="holdout"))
    with pytest.raises(SystemExit, match="not a dev case"):
        dev_case(held_out)
    assert dev_case("cli-caesar") == "cli-caesar"


def test_only_the_serial_run_draws_candidates_one_by_one() -> None:
    serial = command("cli-caesar", "serial", 600, Path("/tmp/o"))
    parallel = command("cli-caesar", "parallel", 600, Path("/tmp/o"))
    assert serial[-2:] == ["--set", "parallel_candidates=1"]
    assert "parallel_candidates=1" not in parallel
    for argv in (serial, parallel):
        assert argv[argv.index("--pipeline") + 1] == "lean"
        assert argv[argv.index("--split") + 1] == "dev"
        assert argv[argv.index("--run-timeout") + 1] == "600"


def _results(seconds: float, tokens: int | None) -> dict[str, Any]:
    case = {"run": "COMPLETED", "passed": True, "factory_seconds": seconds, "tokens": tokens}
    return {"cases": [case]}


def test_a_case_run_is_read_from_the_evaluation_results_and_compared() -> None:
    serial, parallel = row(_results(400.0, 30_000)), row(_results(260.0, 31_500))
    assert serial == {"run": "COMPLETED", "passed": True, "wall_s": 400.0, "tokens": 30_000}
    assert compared(serial, parallel) == {"wall_ratio": 0.65, "tokens_ratio": 1.05}
    assert compared(serial, row(_results(260.0, None)))["tokens_ratio"] is None


def test_the_case_rows_stand_beside_the_serial_run() -> None:
    result = {
        "case": "cli-caesar",
        "pipeline": "lean",
        "serial": row(_results(400.0, 30_000)),
        "parallel": row(_results(260.0, 31_500)),
    }
    wall, tokens = suite.case(result)
    assert (wall.value, wall.reference_value, wall.ratio) == (260.0, 400.0, 0.65)
    assert tokens.ratio == 1.05 and tokens.target is None
    text = suite.table([wall, tokens])
    assert "| case wall time, parallel candidates (cli-caesar, lean, COMPLETED) | 260 s |" in text
    assert "| candidates one by one (COMPLETED): 400 s |" in text


def test_a_case_run_cut_by_the_cap_says_so_in_its_row() -> None:
    result = {
        "case": "cli-caesar",
        "pipeline": "lean",
        "serial": row(_results(230.0, 6_000)),
        "parallel": {**row(_results(255.0, 700)), "run": "INTERRUPTED"},
    }
    wall, _ = suite.case(result)
    assert wall.name.endswith("(cli-caesar, lean, INTERRUPTED)")
    assert wall.reference == "candidates one by one (COMPLETED)"
