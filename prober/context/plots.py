"""PNG charts of the stored sweeps, per model: TTFT against prompt length,
and retrieval accuracy as a heat map of length against needle depth.

Figures are drawn with matplotlib's object API on the Agg canvas, never
through pyplot, so nothing needs a display and no global figure state is
left behind. matplotlib is an optional dependency (the ``report`` extra):
:func:`write_plots` says how to install it when it is missing.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np

from prober.context.report import ModelSweeps, effective_text
from prober.exceptions import SetupError

__all__ = ["write_plots"]

_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]")


def write_plots(reports: list[ModelSweeps], directory: Path) -> list[Path]:
    """Two PNGs per model in ``directory`` (created if need be)."""
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        raise SetupError(
            "--plot needs matplotlib: pip install 'prober[report]' "
            "(in a checkout: pip install -e '.[report]')"
        ) from None

    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for report in reports:
        name = _UNSAFE.sub("_", report.model)
        for kind, draw in (("ttft", _draw_ttft), ("accuracy", _draw_accuracy)):
            figure = Figure(figsize=(7, 4.5), dpi=100, layout="constrained")
            FigureCanvasAgg(figure)
            draw(figure, report)
            path = directory / f"context-{kind}-{name}.png"
            figure.savefig(path)
            written.append(path)
    return written


def _draw_ttft(figure: Any, report: ModelSweeps) -> None:
    axes = figure.add_subplot()
    cells = [c for c in report.cells if c["ttft_s"] is not None]
    x = np.array([c["context_tokens"] or c["length_tokens"] for c in cells], float)
    y = np.array([c["ttft_s"] for c in cells], float)
    axes.scatter(x / 1000, y, s=18, alpha=0.6, label="median TTFT of a cell")

    latest = report.latest
    slope, intercept = (
        latest["prefill_slope_s_per_token"],
        latest["prefill_intercept_s"],
    )
    if slope is not None and intercept is not None and len(x):
        line = np.linspace(0, x.max(), 50)
        rate = latest["prefill_tokens_per_s"]
        label = "latest fit" + (f": {rate:,.0f} tokens/s" if rate else "")
        axes.plot(line / 1000, intercept + slope * line, color="C1", label=label)

    axes.set_xlabel("prompt tokens (thousands)")
    axes.set_ylabel("time to first token (s)")
    axes.set_title(f"{report.model}: time to first token against prompt length")
    axes.set_xlim(left=0)
    axes.set_ylim(bottom=0)
    axes.grid(alpha=0.3)
    axes.legend(loc="upper left")


def _draw_accuracy(figure: Any, report: ModelSweeps) -> None:
    axes = figure.add_subplot()
    lengths, depths = report.lengths(), report.depths()
    grid = np.full((len(lengths), len(depths)), np.nan)
    for row, (length, _) in enumerate(lengths):
        for column, depth in enumerate(depths):
            value = report.accuracy(length, depth)
            if value is not None:
                grid[row, column] = value

    image = axes.imshow(
        grid, cmap="RdYlGn", vmin=0.0, vmax=1.0, aspect="auto", origin="lower"
    )
    for (row, column), value in np.ndenumerate(grid):
        text = "n/a" if np.isnan(value) else f"{value:.0%}"
        axes.text(column, row, text, ha="center", va="center", fontsize=9)
    axes.set_xticks(range(len(depths)), [f"{d:.0%}" for d in depths])
    axes.set_yticks(range(len(lengths)), [label for _, label in lengths])
    axes.set_xlabel("needle depth")
    axes.set_ylabel("prompt length")
    axes.set_title(
        f"{report.model}: retrieval accuracy "
        f"(effective context {effective_text(report.latest)})"
    )
    figure.colorbar(image, ax=axes, label="accuracy")
