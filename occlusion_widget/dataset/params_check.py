"""Whether a sweep may write into a store: its parameters against the settled ones.

The first writer's parameters are settled atomically (:func:`.claims.settle`) in two steps:
the sweep parameters when it starts, then what only the first swept image tells (the image
shape, the number of classes, how many are kept, what ``preprocess`` does on a probe batch).
Every other writer, at once or later, is compared against them and refused with the
parameter that differs. The Zarr attributes repeat them for readers and are rebuilt from the
settled files when lost.
"""

from __future__ import annotations

from .identity import model_mismatch
from .integrity import StoreCorruptError, probe_mismatch

__all__ = ["FORMAT_VERSION", "ParamsCheck"]

#: 3: arrays stacked across images (:mod:`.layout`); 2 and before: a group per image.
FORMAT_VERSION = 3
#: Parameters compared in the second step, or not by name (``preprocess``: by behaviour).
_LATER = ("image_shape", "preprocess", "preprocess_probe")


def _params_mismatch(old: dict, new: dict) -> str:
    keys = sorted(k for k in set(old) | set(new) if old.get(k) != new.get(k))
    return "; ".join(f"{k}: store has {old.get(k)!r}, this sweep {new.get(k)!r}" for k in keys)


class ParamsCheck:
    """The parameter check of a store (mixed into both stores)."""

    location = "memory"
    #: The format this store is written in (a store of an older layout keeps its own).
    format_version = FORMAT_VERSION

    def settle(self, name: str, content: dict) -> tuple[dict, bool]:  # pragma: no cover
        raise NotImplementedError

    def read_settled(self, name: str) -> dict | None:
        return None

    def meta(self) -> dict:  # pragma: no cover
        raise NotImplementedError

    def write_meta(self, meta: dict) -> None:  # pragma: no cover
        raise NotImplementedError

    def params_meta(self) -> dict:
        """The store's attributes, rebuilt from the settled parameters if they were lost."""
        meta = self.meta()
        if "params" in meta:
            return meta
        params, shape = self.read_settled("params"), self.read_settled("shape")
        if params is None:
            return meta
        rebuilt = dict(meta, format_version=params.get("format_version", self.format_version))
        rebuilt["params"] = dict(params["params"])
        if shape is not None:
            rebuilt["params"].update(
                image_shape=shape["image_shape"], preprocess_probe=shape["preprocess_probe"]
            )
            rebuilt.update(num_classes=shape["num_classes"], kept_classes=shape["kept_classes"])
        return rebuilt

    def check_params(self, params: dict, num_classes=None, keep=None) -> None:
        """Settle the parameters of a new store, or refuse a sweep whose parameters differ
        from the settled ones (``ValueError`` naming each)."""
        meta = self.params_meta()
        if meta.get("format_version", 0) > FORMAT_VERSION:
            raise ValueError(
                f"the store at {self.location} was written by a newer occlusion_widget "
                f"(format {meta['format_version']}); upgrade to add to it"
            )
        old_params = dict(meta.get("params", {}))
        first = {k: v for k, v in (old_params or params).items() if k not in _LATER}
        settled, _ = self.settle("params", {"format_version": self.format_version, "params": first})
        self._compare(settled["params"], {k: v for k, v in params.items() if k not in _LATER})
        shape = params.get("image_shape")
        if shape is None or num_classes is None:
            return
        mine = {
            "image_shape": [int(s) for s in shape],
            "num_classes": int(num_classes),
            "kept_classes": int(keep if keep is not None else num_classes),
            "preprocess_probe": params.get("preprocess_probe"),
        }
        if "image_shape" in old_params and "num_classes" in meta:  # a store from before
            seed = {
                "image_shape": old_params["image_shape"],
                "num_classes": meta["num_classes"],
                "kept_classes": meta.get("kept_classes", meta["num_classes"]),
                "preprocess_probe": old_params.get("preprocess_probe", mine["preprocess_probe"]),
            }
        else:
            seed = mine
        found, _ = self.settle("shape", seed)
        self._compare_shape(found, mine)
        raw = self.meta()
        if "params" not in raw or "num_classes" not in raw:  # new, or its attributes lost
            self.write_meta(
                {
                    "format_version": self.format_version,
                    "params": dict(
                        settled["params"],
                        image_shape=found["image_shape"],
                        preprocess=params.get("preprocess"),
                        preprocess_probe=found["preprocess_probe"],
                    ),
                    "num_classes": found["num_classes"],
                    "kept_classes": found["kept_classes"],
                }
            )

    def _compare(self, old: dict, new: dict) -> None:
        old, new = dict(old), dict(new)
        # The model is compared on its own terms (a store written before it was recorded has
        # none, and a callable is known by name only).
        model = model_mismatch(old.pop("model", None), new.pop("model", None))
        if model:
            raise ValueError(
                f"the store at {self.location} was written by another model: this sweep gives "
                f"{model}. Resume it with the model that wrote it, or give a new store path"
            )
        if "top_k" not in old:  # a store from before top_k was recorded: see the shape step
            new.pop("top_k", None)
        diff = _params_mismatch(old, new)
        if diff:
            raise ValueError(
                f"the store at {self.location} was written with other sweep parameters ({diff}). "
                f"Resume it with the same parameters, or give a new store path"
            )

    def _compare_shape(self, old: dict, new: dict) -> None:
        problems = []
        if old.get("num_classes") != new["num_classes"]:
            problems.append(
                f"num_classes: store has {old.get('num_classes')}, this model gives "
                f"{new['num_classes']}"
            )
        elif old.get("kept_classes") != new["kept_classes"]:
            problems.append(
                f"top_k: the store keeps {old.get('kept_classes')} classes per position, this "
                f"sweep {new['kept_classes']}"
            )
        if list(old.get("image_shape") or []) != new["image_shape"]:
            problems.append(
                f"image_shape: store has {old.get('image_shape')}, this sweep "
                f"{new['image_shape']} (H, W, C)"
            )
        probe = probe_mismatch(old.get("preprocess_probe"), new["preprocess_probe"])
        if probe:
            problems.append(f"preprocess: {probe}")
        if problems:
            raise ValueError(
                f"the store at {self.location} was written with other sweep parameters "
                f"({'; '.join(problems)}). Resume it with the same parameters, or give a new "
                f"store path"
            )

    def require_meta(self) -> dict:
        """The parameters a reader needs, or :class:`StoreCorruptError` naming what is lost."""
        meta = self.params_meta()
        if "params" not in meta or "num_classes" not in meta:
            raise StoreCorruptError(
                f"the store at {self.location} has lost its parameters (the attributes of "
                f"maps.zarr/zarr.json and claims/_params.json are missing or empty); no "
                f"image can be rebuilt from it"
            )
        return meta
