"""nas.validation.truth_plot: one picture per space of the converged truth, drawn from the analysis alone."""
from __future__ import annotations

import struct
from pathlib import Path

from nas.validation.truth_plot import truth_figure, write_truth_figures
from nas.validation.truth_report import truth_markdown


def _png_size(path: Path) -> tuple[int, int]:
    head = path.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", head[16:24])


def test_one_png_per_space_named_by_the_space_file(analysis, tmp_path: Path) -> None:
    paths = write_truth_figures(analysis, tmp_path / "img")
    assert [p.name for p in paths] == ["truth_tiny.png", "truth_other.png"]
    assert all(_png_size(p) == (1650, 1350) for p in paths)
    # and no temporary files left beside them
    assert sorted(x.name for x in (tmp_path / "img").iterdir()) == ["truth_other.png", "truth_tiny.png"]


def _texts(ax) -> list[str]:
    return [t.get_text() for t in ax.texts]


def test_panels_show_the_analysis_numbers(analysis) -> None:
    plan = analysis["plan"]
    tiny, other = analysis["spaces"]
    axes = truth_figure(tiny, epochs=plan.epochs, budget_factor=plan.budget_factor, seeds=plan.seeds).axes
    assert len(axes) == 4
    scored = sorted((r for r in tiny["rows"] if r["corr"]["tau"] == r["corr"]["tau"]), key=lambda r: r["corr"]["tau"])
    assert [t.get_text() for t in axes[0].get_yticklabels()] == [r["name"] for r in scored]  # best at the top
    assert f"τ {tiny['noise']['corr']['tau']:.2f} [" in axes[1].get_title()
    assert f"on {tiny['budget']['corr']['n']} nets" in axes[2].get_title()
    steps = [f"{p['epochs']} → {p['epochs_long']}" for p in tiny["plateau"]]
    assert steps and [t.get_text() for t in axes[3].get_xticklabels()] == steps
    # the second space plans no plateau (its budget part is planned): only that panel says so
    axes = truth_figure(other, epochs=plan.epochs, budget_factor=plan.budget_factor, seeds=plan.seeds).axes
    assert any("not planned" in t and "plateau=0" in t for t in _texts(axes[3]))
    assert not _texts(axes[2])


def test_unfinished_parts_say_so_instead_of_drawing(analysis) -> None:
    plan = analysis["plan"]
    tiny = dict(analysis["spaces"][0])
    tiny["plateau"] = []
    tiny["budget"] = {**tiny["budget"], "names": [], "short": [], "long": []}
    tiny["noise"] = {**tiny["noise"], "seed_a": [0.9], "seed_b": [0.91]}
    axes = truth_figure(tiny, epochs=plan.epochs, budget_factor=plan.budget_factor, seeds=plan.seeds).axes
    assert any("not trained yet" in t for t in _texts(axes[3]))
    assert any("not trained yet: 0 of 4 nets at 4 epochs" in t for t in _texts(axes[2]))
    assert any("fewer than 2 nets" in t for t in _texts(axes[1]))


def test_report_links_each_picture_under_its_space(analysis) -> None:
    text = truth_markdown(analysis, images=["img/truth_tiny.png", "img/truth_other.png"]).splitlines()
    for space, link in zip(analysis["spaces"], ["img/truth_tiny.png", "img/truth_other.png"]):
        i = text.index(f"### {space['space']}")
        assert text[i + 2].endswith(f"]({link})") and text[i + 2].startswith("![")
    assert not any("![" in line for line in truth_markdown(analysis).splitlines())
