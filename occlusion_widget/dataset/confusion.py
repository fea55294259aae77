"""Confusion under occlusion: for each true (or predicted) class, which classes win, and how
often, when a patch hides part of the image.

Computed from the table alone (each row lists the classes that win somewhere in its map and at
how many positions), so it needs no map and no model, and takes a second on 50,000 rows.
"""

from __future__ import annotations

__all__ = ["confusion_table"]

_BY = ("true", "predicted")


def confusion_table(table, by="true", flips_only=True, class_names=None):
    """Count, per group class, the positions at which each class wins.

    Parameters
    ----------
    table : pandas.DataFrame
        The dataset table (:attr:`OcclusionDataset.table`).
    by : {"true", "predicted"}, default "true"
        Group images by their true label (images without one are left out) or by the
        unoccluded prediction.
    flips_only : bool, default True
        Count only positions where the prediction changed (the winner is not the unoccluded
        prediction); False counts every position, so each group's fractions sum to 1.
    class_names : list of str, optional
        Adds ``group_name`` and ``winner_name`` columns.

    Returns
    -------
    pandas.DataFrame
        One row per (group, winner) pair with ``group``, ``winner``, ``positions`` (how many
        occluded positions across the group's images), ``fraction`` (of all the group's
        positions), ``images`` (in how many of the group's images the winner wins somewhere)
        and ``group_images``; sorted by group, then most positions first.

    Examples
    --------
    >>> import pandas as pd
    >>> table = pd.DataFrame({"status": ["done", "done"], "label": [0, 0], "predicted": [0, 0],
    ...     "positions": [4, 4], "winner_classes": [[0, 1], [0, 2]],
    ...     "winner_counts": [[3, 1], [2, 2]]})
    >>> out = confusion_table(table)
    >>> out["winner"].tolist(), out["positions"].tolist(), out["fraction"].tolist()
    ([2, 1], [2, 1], [0.25, 0.125])
    """
    import pandas as pd

    if by not in _BY:
        raise ValueError(f"by must be 'true' or 'predicted'; got {by!r}")
    done = table[table["status"] == "done"]
    column = "label" if by == "true" else "predicted"
    done = done[done[column] >= 0]
    counts, images, group_images, group_positions = {}, {}, {}, {}
    for group, predicted, n, winners, numbers_ in zip(
        done[column],
        done["predicted"],
        done["positions"],
        done["winner_classes"],
        done["winner_counts"],
        strict=True,
    ):
        group = int(group)
        group_images[group] = group_images.get(group, 0) + 1
        group_positions[group] = group_positions.get(group, 0) + int(n)
        for winner, count in zip(winners, numbers_, strict=True):
            if flips_only and int(winner) == int(predicted):
                continue
            pair = (group, int(winner))
            counts[pair] = counts.get(pair, 0) + int(count)
            images[pair] = images.get(pair, 0) + 1
    rows = [
        {
            "group": g,
            "winner": w,
            "positions": c,
            "fraction": c / group_positions[g],
            "images": images[(g, w)],
            "group_images": group_images[g],
        }
        for (g, w), c in counts.items()
    ]
    columns = ["group", "winner", "positions", "fraction", "images", "group_images"]
    out = pd.DataFrame(rows, columns=columns)
    if len(out):
        out = out.sort_values(["group", "positions", "winner"], ascending=[True, False, True])
        out = out.reset_index(drop=True)
    if class_names is not None:
        names = list(class_names)
        out.insert(1, "group_name", [_name(names, g) for g in out["group"]])
        out.insert(3, "winner_name", [_name(names, w) for w in out["winner"]])
    return out


def _name(names, index):
    return names[index] if 0 <= index < len(names) else str(index)
