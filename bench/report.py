"""Render the figures of bench/results/*.json as the Markdown tables of bench/RESULTS.md.

    .venv/bin/python -m bench.report > /tmp/figures.md

RESULTS.md keeps these tables (regenerated after each recorded run) next to the
prose: what was profiled, what was fixed, what is left.
"""

from __future__ import annotations

import json
import sys
from typing import Any

from bench.common import RESULTS


def _load(name: str) -> dict[str, Any] | None:
    path = RESULTS / f"{name}.json"
    if not path.exists():
        return None
    data: dict[str, Any] = json.loads(path.read_text())
    return data


def _machine(record: dict[str, Any]) -> str:
    m = record["machine"]
    return (
        f"{m['date_utc']}, commit `{m['commit']}`, {m['nproc']} CPUs ({m['cpu']}), {m['memory_gib']} GiB, "
        f"Python {m['python']}; `{record['command']}`"
    )


def ingest(record: dict[str, Any]) -> list[str]:
    lines = [
        "### Ingestion",
        "",
        f"{_machine(record)}; load average before {record['load_before']}, after {record['load_after']}.",
        "",
        "| backend | endpoint | req/s | p50 ms | p99 ms | non-2xx | peak RSS MiB |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in record["results"]:
        for kind in ("api", "bare"):
            f = r[kind]
            lines.append(
                f"| {r['backend']} | {'PUT pain log (API)' if kind == 'api' else 'bare INSERT'} | {f['rps']} | "
                f"{f['p50_ms']} | {f['p99_ms']} | {f['non_2xx']} | {r[kind + '_peak_rss_mib']} |"
            )
    lines += ["", "| backend | ratio API/bare | ratio ≥ 0.8 | p99 ≤ 250 ms | RSS ≤ 250 MiB | rows the API wrote |"]
    lines.append("|---|---|---|---|---|---|")
    for r in record["results"]:
        b = r["bars"]
        written = ", ".join(f"{k} {v}" for k, v in r["api_rows_written"].items() if v)
        lines.append(
            f"| {r['backend']} | {r['ratio_rps']} | {_yes(b['ratio_ge_0.8'])} | {_yes(b['p99_le_250ms'])} | "
            f"{_yes(b['peak_rss_le_250mib'])} | {written} |"
        )
    if all("pair_ratios" in r for r in record["results"]):
        lines += [
            "",
            f"API and bare windows alternated, {record['pairs']} pairs of {record['seconds']} s; the figures above "
            "are the medians of the windows, the ratio the median of the pairs':",
            "",
            "| backend | pair | API req/s | bare req/s | ratio | API p99 ms |",
            "|---|---|---|---|---|---|",
        ]
        for r in record["results"]:
            for i, (a, bare) in enumerate(zip(r["api_windows"], r["bare_windows"], strict=True)):
                lines.append(
                    f"| {r['backend']} | {i + 1} | {a['rps']} | {bare['rps']} | {r['pair_ratios'][i]} | {a['p99_ms']} |"
                )
    return lines


def triage(record: dict[str, Any]) -> list[str]:
    lines = ["### Triage list", "", _machine(record) + ".", ""]
    lines += [
        "| history | load before | page | req/s | p50 ms | p95 ms | p99 ms | non-2xx |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in record["runs"]:
        for page in ("first_page", "page_of_200"):
            f = r[page]
            lines.append(
                f"| {r['days']} days | {r['load_before']} | {page.replace('_', ' ')} | {f['rps']} | {f['p50_ms']} | "
                f"{f['p95_ms']} | {f['p99_ms']} | {f['non_2xx']} |"
            )
    b = record["bars"]
    lines += [
        "",
        f"p95 ≤ 150 ms at 180 days: {_yes(b['p95_le_150ms_at_180_days'])}; growth 180 → 360 days "
        f"{record['growth_p95']} times (under 1.5: {_yes(b['growth_lt_1.5x'])}).",
    ]
    return lines


def reminder(record: dict[str, Any]) -> list[str]:
    b = record["bars"]
    return [
        "### Reminder tick",
        "",
        _machine(record) + f"; load average before {record['load_before']}, after {record['load_after']}.",
        "",
        "| patients | push devices | idle tick median / max | 10,000 due | created | deliveries | bars |",
        "|---|---|---|---|---|---|---|",
        f"| {record['patients']:,} | {record.get('devices', 0):,} | {record['idle_tick_ms_median']} / "
        f"{record['idle_tick_ms_max']} ms | {record['due_tick_seconds']} s | {record['notifications_created']:,} | "
        f"{record.get('deliveries_created', 0):,} | idle ≤ 50 ms {_yes(b['idle_le_50ms'])}, "
        f"due ≤ 10 s {_yes(b['due_le_10s'])}, each once {_yes(b['each_due_reminder_once'])} |",
    ]


def sweep(record: dict[str, Any]) -> list[str]:
    lines = [
        "### Daily sweep",
        "",
        _machine(record)
        + f"; data built in {record['build_seconds']} s: "
        + ", ".join(f"{k} {v:,}" for k, v in record["population"].items())
        + ".",
        "",
        "| run | load before | seconds (escalation) | patients evaluated | alerts opened | nudges | plan reviews |",
        "|---|---|---|---|---|---|---|",
    ]
    rows = [("catch-up (never evaluated)", record["load_before_catch_up"], record["catch_up"])]
    rows += [(f"daily, after {d['day_written']} ({d['logs']:,} logs)", d["load_before"], d) for d in record["daily"]]
    rows.append(("nothing due", "", record["nothing_due"]))
    for name, load, r in rows:
        lines.append(
            f"| {name} | {load} | {r['seconds']} ({r['escalation_seconds']}) | {r['escalation_patients']:,} | "
            f"{r['escalation_alerts_opened']:,} | {r['escalation_nudges']:,} | {r['plan_reviews']:,} |"
        )
    bars = record["bars"]
    line = f"Daily ≤ 120 s: {_yes(bars['daily_le_120s'])}"
    if "catch_up_le_120s" in bars:
        line += f"; daily ≤ 21 s: {_yes(bars['daily_le_21s'])}; catch-up ≤ 120 s: {_yes(bars['catch_up_le_120s'])}"
    lines += ["", line + "."]
    return lines


def delivery(record: dict[str, Any]) -> list[str]:
    lines = [
        "### Delivery",
        "",
        _machine(record) + f"; load average before {record['load_before']}, after {record['load_after']}.",
        "",
        "| backend | notifications | seconds | per second | received / distinct ids | ≥ 500/s | none lost or doubled |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in record["results"]:
        lines.append(
            f"| {r['backend']} | {r['notifications']:,} | {r['seconds']} | {r['per_second']} | "
            f"{r['receiver']['received']:,} / {r['receiver']['distinct']:,} | {_yes(r['bar_ge_500_per_s'])} | "
            f"{_yes(r['nothing_lost_or_doubled'])} |"
        )
    return lines


def triage_team(record: dict[str, Any]) -> list[str]:
    lines = ["### Triage list against the size of the care team", "", _machine(record) + ".", ""]
    lines += [
        "| patients in the team | history | load before | req/s | p50 ms | p95 ms | p99 ms | non-2xx |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in record["runs"]:
        f = r["first_page"]
        lines.append(
            f"| {r['patients']:,} | {r['days']} days | {r['load_before']} | {f['rps']} | {f['p50_ms']} | "
            f"{f['p95_ms']} | {f['p99_ms']} | {f['non_2xx']} |"
        )
    b = record["bars"]
    lines += [
        "",
        f"p95 ≤ 150 ms at every size: {_yes(b['p95_le_150ms_at_every_size'])}; largest/smallest p95 "
        f"{record['growth_p95']} times (≤ 1.3: {_yes(b['growth_le_1.3x'])}).",
    ]
    return lines


def _yes(value: bool) -> str:
    return "**met**" if value else "**missed**"


def main() -> int:
    sections = [
        ("ingest", ingest),
        ("triage_list", triage),
        ("triage_team", triage_team),
        ("reminder_tick", reminder),
        ("sweep", sweep),
        ("delivery", delivery),
    ]
    for name, render in sections:
        record = _load(name)
        if record is not None:
            print("\n".join(render(record)) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
