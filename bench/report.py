"""Render a results JSON (written by run.py) as Markdown tables.

Usage: python report.py results.json   # re-render an earlier run
"""

from __future__ import annotations

import json
import statistics
import sys

SERVERS = ("kiwix", "tpkit")
DASH = "—"


def fmt_rate(value: float | None) -> str:
    if value is None:
        return DASH
    return f"{value:,.0f}" if value >= 100 else f"{value:.1f}"


def fmt_ms(value: float | None) -> str:
    if value is None:
        return DASH
    return f"{value:.0f} ms" if value >= 100 else f"{value:.2f} ms"


def fmt_mb(kb: int | None) -> str:
    return DASH if not kb else f"{kb / 1024:.1f} MB"


def fmt_errors(res: dict | None) -> str:
    if res is None:
        return DASH
    parts = [f"{k} {v}" for k, v in res["socket_errors"].items() if v]
    if res["non_2xx_3xx"]:
        parts.insert(0, f"non-2xx/3xx {res['non_2xx_3xx']}")
    text = ", ".join(parts) or "0"
    if res.get("failed"):
        text = f"wrk failed; {text}"
    if res.get("crashed"):
        text = f"**CRASHED**: {res['crash_reason']}; {text}"
    return text


def fmt_throughput(res: dict | None) -> str:
    """req/s, or CRASHED (partial req/s) when the server died during the cell."""
    if res is None:
        return DASH
    rate = fmt_rate(res["requests_per_s"])
    return f"CRASHED ({rate})" if res.get("crashed") else rate


def ratio(results: dict) -> str:
    kiwix, tpkit = results.get("kiwix"), results.get("tpkit")
    if not (kiwix and tpkit and kiwix["requests_per_s"]):
        return DASH
    if kiwix.get("crashed") or tpkit.get("crashed"):
        return DASH
    return f"{tpkit['requests_per_s'] / kiwix['requests_per_s']:.2f}"


def cell_row(cell: dict) -> str:
    res = cell["results"]
    get = lambda name, key: (res.get(name) or {}).get(key)  # noqa: E731
    cols = [
        cell["endpoint"],
        str(cell["concurrency"]),
        fmt_throughput(res.get("kiwix")),
        fmt_throughput(res.get("tpkit")),
        ratio(res),
        fmt_ms(get("kiwix", "p50_ms")),
        fmt_ms(get("kiwix", "p99_ms")),
        fmt_ms(get("tpkit", "p50_ms")),
        fmt_ms(get("tpkit", "p99_ms")),
        fmt_errors(res.get("kiwix")),
        fmt_errors(res.get("tpkit")),
    ]
    return "| " + " | ".join(cols) + " |"


def throughput_table(cells: list[dict]) -> list[str]:
    head = (
        "| endpoint | c | kiwix req/s | tpkit req/s | tpkit÷kiwix | kiwix p50 | kiwix p99 "
        "| tpkit p50 | tpkit p99 | kiwix errors | tpkit errors |"
    )
    return [head, "|" + "---|" * 11] + [cell_row(c) for c in cells]


def cpu_table(cells: list[dict]) -> list[str]:
    """Server CPU (process tree, user + system) per answered request: a figure a busy machine disturbs little."""
    lines = ["| endpoint | c | kiwix µs/req | tpkit µs/req | tpkit÷kiwix |", "|---|---|---|---|---|"]
    for cell in cells:
        kiwix, tpkit = (cell["results"].get(name, {}).get("cpu_us_per_request") for name in ("kiwix", "tpkit"))
        if kiwix is None and tpkit is None:
            continue
        share = f"{tpkit / kiwix:.2f}" if kiwix and tpkit else DASH
        lines.append(f"| {cell['endpoint']} | {cell['concurrency']} | {kiwix or DASH} | {tpkit or DASH} | {share} |")
    return lines


def memory_table(servers: dict) -> list[str]:
    lines = [
        "| server | RssAnon after warm-up | RssAnon peak during run | Pss_Anon after warm-up | Pss_Anon peak "
        "| crashes/restarts |",
        "|---|---|---|---|---|---|",
    ]
    for name in SERVERS:
        if info := servers.get(name):
            lines.append(
                f"| {name} | {fmt_mb(info.get('rss_anon_kb_after_warmup'))} "
                f"| {fmt_mb(info.get('rss_anon_kb_peak'))} | {fmt_mb(info.get('pss_anon_kb_after_warmup'))} "
                f"| {fmt_mb(info.get('pss_anon_kb_peak'))} | {info.get('restarts', 0)} |"
            )
    return lines


def cold_start_table(servers: dict) -> list[str]:
    lines = ["| server | median | min | max | trials |", "|---|---|---|---|---|"]
    for name in SERVERS:
        times = [t * 1000 for t in (servers.get(name) or {}).get("cold_start_s", [])]
        if times:
            lines.append(
                f"| {name} | {fmt_ms(statistics.median(times))} | {fmt_ms(min(times))} "
                f"| {fmt_ms(max(times))} | {len(times)} |"
            )
    return lines


def header(meta: dict) -> list[str]:
    return [
        f"# tpkit vs kiwix-serve — {meta['started']}",
        "",
        f"ZIM `{meta['zim']}` ({meta['zim_mb']:.1f} MB), book `{meta['book']}`; "
        f"wrk {meta['duration_s']:g} s per cell, threads = min(c, 2); "
        f"host: {meta['cpus']} CPUs, {meta['host']}.",
        "",
    ]


def render(results: dict) -> str:
    servers = results["servers"]
    layouts = [
        f"- {n}: `{s['command']}` — content at `{s['layout']['content_prefix']}…`"
        for n, s in servers.items()
        if s.get("layout")
    ]
    lines = header(results["meta"]) + layouts
    if results.get("aborted"):
        lines += ["", f"**Run aborted:** {results['aborted']}"]
    lines += ["", "## Throughput and latency", ""]
    lines += throughput_table(results["cells"])
    lines += ["", "## Server CPU per request (lower is better)", "", *cpu_table(results["cells"])]
    lines += [
        "",
        "## Memory (process + children; Pss_Anon counts a page that forked workers share once, RssAnon in each)",
        "",
        *memory_table(servers),
    ]
    lines += ["", "## Cold start (spawn → first 200 of the main page)", ""]
    lines += cold_start_table(servers) + [""]
    return "\n".join(lines)


if __name__ == "__main__":
    with open(sys.argv[1]) as fh:
        print(render(json.load(fh)))
