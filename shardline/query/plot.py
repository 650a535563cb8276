"""A query's result as a chart: one panel per metric, the mean as a line over a min-max
band, on a shared UTC time axis with concise date labels. matplotlib draws off-screen
(the Agg backend), so it works on a server or in CI without a display."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from shardline.query.errors import QueryError
from shardline.query.model import QueryResult

PANEL_HEIGHT_IN = 2.6
FIGURE_WIDTH_IN = 10.0
IMAGE_SUFFIXES = (".png", ".svg", ".pdf")


def figure_of(result: QueryResult) -> Any:
    """The matplotlib Figure of ``result``: panel ``i`` is ``result.metrics[i]``, its first
    line the means, its band the min-max range. QueryError when there is nothing to draw."""
    if not result.rows:
        raise QueryError(f"nothing to plot: no {', '.join(result.metrics)} data for "
                         f"{result.selection} in the range")
    from matplotlib import dates
    from matplotlib.figure import Figure

    # A bare Figure renders with Agg and never touches pyplot's global state or a display.
    figure = Figure(figsize=(FIGURE_WIDTH_IN, PANEL_HEIGHT_IN * len(result.metrics) + 0.8),
                    layout="constrained")
    axes = figure.subplots(len(result.metrics), 1, sharex=True, squeeze=False)[:, 0]
    for panel, metric in zip(axes, result.metrics, strict=True):
        rows = result.series(metric)
        times = [row.time for row in rows]
        panel.fill_between(times, [row.min for row in rows], [row.max for row in rows],
                           alpha=0.25, linewidth=0, label="min-max")
        panel.plot(times, [row.mean for row in rows], marker="." if len(rows) < 60 else None,
                   label="mean")
        panel.set_ylabel(metric)
        panel.grid(True, alpha=0.3)
        panel.legend(loc="upper left", fontsize="small")
    locator = dates.AutoDateLocator()
    axes[-1].xaxis.set_major_locator(locator)
    axes[-1].xaxis.set_major_formatter(dates.ConciseDateFormatter(locator))
    axes[-1].set_xlabel("time (UTC)")
    figure.suptitle(f"{result.selection} · {result.resolution} · "
                    f"{result.since:%Y-%m-%d %H:%M} - {result.until:%Y-%m-%d %H:%M} UTC")
    return figure


def save_plot(result: QueryResult, path: str | Path) -> Path:
    """Draw ``result`` to ``path`` (.png, .svg or .pdf) and return the path."""
    target = Path(path)
    if target.suffix.lower() not in IMAGE_SUFFIXES:
        raise QueryError(f"cannot plot to {target}: the file must end in "
                         f"{', '.join(IMAGE_SUFFIXES)}")
    if not target.parent.is_dir():
        raise QueryError(f"cannot plot to {target}: no directory {target.parent}")
    figure = figure_of(result)
    try:
        figure.savefig(target, dpi=120)
    except OSError as exc:
        raise QueryError(f"cannot write {target}: {exc.strerror or exc}") from None
    return target


__all__ = ["figure_of", "save_plot"]
