"""compare(): several settings swept, judged by one shared deletion curve, ranked, drawn."""

from __future__ import annotations

import sys

import numpy as np
import pytest

import occlusion_widget as ow
from tests.helpers.engine_helpers import region_model

# Curve points are means of <= 16 pixels of 0 / 1 in float32: exact to far below 1e-6.
TOL = 1e-6


def _corner_model(batch):
    """Class 1 = brightness of the top-left 2x2 corner of a 4x4 image."""
    return region_model(0, 0, 2, 2)(batch)


def test_curves_fill_with_the_first_baseline_and_ties_keep_the_given_order():
    # On a white image, white deletes nothing: with white as the shared fill every curve stays
    # at 1, the areas tie at 1, and the settings keep the order they were given in.
    cmp = ow.compare(
        _corner_model, np.ones((4, 4)), baselines=["white", "black"], patch_sizes=[2], steps=4
    )
    assert cmp.metric_baseline == "white"
    assert [row["baseline"] for row in cmp.rows] == ["white", "black"]
    assert [row["rank"] for row in cmp.rows] == [1, 2]
    for row in cmp.rows:
        assert row["deletion_auc"] == pytest.approx(1.0, abs=TOL)


def test_a_faithful_map_ranks_above_a_flat_one_with_areas_by_hand():
    cmp = ow.compare(
        _corner_model,
        np.ones((4, 4)),
        baselines=["white", "black"],
        patch_sizes=[2],
        steps=4,
        metric_baseline="black",
    )
    assert cmp.metric_baseline == "black"
    by_name = {row["baseline"]: row for row in cmp.rows}
    # black's map: the corner's 4 pixels first -> deletion 1, 0, 0, 0, 0 -> area 1/8.
    assert by_name["black"]["deletion_auc"] == pytest.approx(0.125, abs=TOL)
    # white's flat map: raster order, the corner goes 2 pixels per step -> 1, .5, 0, 0, 0.
    assert by_name["white"]["deletion_auc"] == pytest.approx(0.25, abs=TOL)
    assert cmp.best["baseline"] == "black"
    for curves in cmp.curves:  # every curve ends at the shared fill's probability
        assert curves.deletion[-1] == pytest.approx(0.0, abs=TOL)
        assert curves.target == cmp.target == 1


def test_every_baseline_and_patch_size_is_swept_with_half_strides():
    cmp = ow.compare(
        _corner_model,
        np.ones((8, 8)),
        baselines=["black", "gray"],
        patch_sizes=[2, (4, 2)],
        steps=4,
        metric_baseline="black",
    )
    settings = {(row["baseline"], row["patch_size"], row["stride"]) for row in cmp.rows}
    assert settings == {
        ("black", (2, 2), (1, 1)),
        ("gray", (2, 2), (1, 1)),
        ("black", (4, 2), (2, 1)),
        ("gray", (4, 2), (2, 1)),
    }
    aucs = [row["deletion_auc"] for row in cmp.rows]
    assert aucs == sorted(aucs)
    for row, result in zip(cmp.rows, cmp.results, strict=True):
        assert result.patch_size == row["patch_size"]


def test_the_table_is_a_list_of_rows_without_pandas(monkeypatch):
    cmp = ow.compare(_corner_model, np.ones((4, 4)), baselines=["black"], patch_sizes=[2], steps=2)
    monkeypatch.setitem(sys.modules, "pandas", None)  # importing pandas now raises ImportError
    table = cmp.table()
    assert table == cmp.rows and table is not cmp.rows
    assert "<table>" in cmp._repr_html_()


def test_the_table_is_a_dataframe_with_pandas():
    pd = pytest.importorskip("pandas")
    cmp = ow.compare(_corner_model, np.ones((4, 4)), baselines=["black"], patch_sizes=[2], steps=2)
    table = cmp.table()
    assert isinstance(table, pd.DataFrame)
    assert list(table["baseline"]) == ["black"]


def test_the_figure_draws_every_map_and_leaves_pyplot_alone():
    pytest.importorskip("matplotlib")
    from matplotlib.figure import Figure

    cmp = ow.compare(
        _corner_model,
        np.ones((4, 4)),
        baselines=["black", "white", "gray"],
        patch_sizes=[2],
        steps=2,
    )
    before = (
        set(sys.modules.get("matplotlib.pyplot").get_fignums())
        if "matplotlib.pyplot" in sys.modules
        else set()
    )
    fig = cmp.figure()
    assert isinstance(fig, Figure)
    titles = [ax.get_title() for ax in fig.axes]
    for row in cmp.rows:
        assert any(f"{row['rank']}. {row['baseline']}" in t for t in titles)
    curves_ax = next(ax for ax in fig.axes if ax.get_legend() is not None)
    assert len(curves_ax.get_lines()) == 2 * len(cmp.rows)  # deletion + insertion each
    if "matplotlib.pyplot" in sys.modules:
        assert set(sys.modules["matplotlib.pyplot"].get_fignums()) == before
    assert cmp.plot().__class__ is Figure


def test_the_figure_names_the_target_by_its_label():
    pytest.importorskip("matplotlib")
    kwargs = dict(baselines=["black"], patch_sizes=[2], steps=2)
    cmp = ow.compare(_corner_model, np.ones((4, 4)), labels=["dark", "corner"], **kwargs)
    assert cmp.target_name == "corner"
    assert repr(cmp).startswith("Comparison of 1 settings for corner (")
    labels = [ax.get_ylabel() for ax in cmp.figure().axes]
    assert "P(corner)" in labels  # the curves
    assert any(label.startswith("P(corner):") for label in labels)  # the colour bar
    assert not any("class 1" in label for label in labels)
    # Without labels the figure says what it knows: the class index.
    unnamed = ow.compare(_corner_model, np.ones((4, 4)), **kwargs)
    assert "P(class 1)" in [ax.get_ylabel() for ax in unnamed.figure().axes]


def test_an_empty_list_of_settings_is_refused():
    with pytest.raises(ValueError, match="baselines must name at least one setting"):
        ow.compare(_corner_model, np.ones((4, 4)), baselines=[], patch_sizes=[2])


def test_a_single_patch_size_keyword_is_pointed_to_patch_sizes():
    calls = []

    def model(batch):
        calls.append(len(batch))
        return _corner_model(batch)

    with pytest.raises(TypeError, match=r"compare\(\).*'patch_size'.*did you mean 'patch_sizes'"):
        ow.compare(model, np.ones((4, 4)), patch_size=2)
    assert calls == []  # refused before any sweep
