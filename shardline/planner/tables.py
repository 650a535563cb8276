"""``shardline plan``'s report as rich tables (the JSON form is ``report.build_report``)."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table


def _n(value: float) -> str:
    if value == 0:
        return "0"
    for bound, suffix in ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= bound:
            return f"{value / bound:.3g}{suffix}"
    return f"{value:.3g}"


def _usd(value: float) -> str:
    return f"${value:,.2f}"


def _table(title: str, *columns: str) -> Table:
    table = Table(title=title, title_justify="left", title_style="bold")
    for index, column in enumerate(columns):
        table.add_column(column, justify="left" if index == 0 else "right")
    return table


def render(report: dict[str, Any], console: Console) -> None:
    workload, stream = report["workload"], report["stream"]
    console.print(
        f"[bold]{workload['devices']:,} devices x {workload['hz']:g} Hz x {workload['bytes']} B"
        f"[/], {workload['metrics']} metrics, KPL aggregation "
        f"{'on' if workload['aggregate'] else 'off'}, fanout "
        f"{'on' if workload['fanout'] else 'off'}"
        + (f", replayed at {workload['speed']:g}x" if workload["speed"] != 1 else "")
        + f" | settings: {report['settings']['source']} | prices: {report['prices']['region']}"
        f" as of {report['prices']['as_of']} | per 730-hour month", highlight=False)

    kinesis = _table("Kinesis stream", "figure", "value")
    kinesis.add_row("shards", f"{stream['shards']} ({stream['binding_limit']})")
    kinesis.add_row("user records/s", _n(stream["user_records_per_s"]))
    kinesis.add_row("Kinesis records/s", _n(stream["kinesis_records_per_s"]))
    kinesis.add_row("MiB/s written", f"{stream['mib_per_s']:.3g}")
    kinesis.add_row("PUT payload units", _n(stream["put_payload_units"]))
    for name, use in stream["utilisation"].items():
        kinesis.add_row(f"per-shard use: {name.replace('_', ' ')}", f"{use:.0%}")
    console.print(kinesis)

    functions = _table("Lambda", "function", "invocations", "GB-s", "mean conc.", "peak conc.")
    for name, usage in report["lambda"].items():
        functions.add_row(name, _n(usage["invocations"]), _n(usage["gb_seconds"]),
                          f"{usage['mean_concurrency']:.2g}", f"{usage['peak_concurrency']:.3g}")
    console.print(functions)

    tables = _table("DynamoDB (on-demand)", "table", "writes", "write units", "read units",
                    "storage GB")
    for name, usage in report["dynamodb"].items():
        tables.add_row(name, _n(usage["writes"]), _n(usage["write_units"]),
                       _n(usage["read_units"]), f"{usage['storage_gb']:.3g}")
    console.print(tables)

    costs = _table("Monthly cost", "component", "USD")
    for name, cost in report["monthly_cost_usd"].items():
        costs.add_row(f"[bold]{name}[/]" if name == "total" else name, _usd(cost))
    console.print(costs)

    saved = _table("Savings", "figure", "with", "without", "ratio")
    for section, figures in report["savings"].items():
        for name, pair in figures.items():
            ratio = pair["without"] / pair["with"] if pair["with"] else 0
            saved.add_row(f"{section.replace('_', ' ')}: {name.replace('_', ' ')}",
                          _n(pair["with"]), _n(pair["without"]), f"{ratio:.1f}x")
    console.print(saved)
    console.print(f"S3 archive: {_n(report['s3_archive']['objects'])} objects, "
                  f"{report['s3_archive']['stored_gb']:.3g} GB stored; CloudWatch Logs: "
                  f"{report['cloudwatch_logs']['ingested_gb']:.3g} GB ingested", highlight=False)
    for note in report["notes"]:
        console.print(f"note: {note}", highlight=False)
