"""Class names: the 1000 ImageNet classes (shipped with the package, nothing downloads) and the
10 CIFAR-10 classes, plus :func:`as_list` which accepts a list, a dict or a dataset name wherever
labels are taken.

Examples
--------
>>> import occlusion_widget as ow
>>> ow.labels.imagenet()[386], ow.labels.cifar10()[8]
('African_elephant', 'ship')
"""

from __future__ import annotations

import json
import numbers
from functools import lru_cache
from importlib import resources

__all__ = ["CIFAR10", "as_list", "cifar10", "imagenet", "imagenet_wordnet_ids", "resolve"]

#: The CIFAR-10 class names, in the dataset's label order.
CIFAR10 = (
    "airplane",
    "automobile",
    "bird",
    "cat",
    "deer",
    "dog",
    "frog",
    "horse",
    "ship",
    "truck",
)


@lru_cache(maxsize=1)
def _imagenet_index() -> tuple[tuple[str, str], ...]:
    # The same file keras.applications' decode_predictions downloads, shipped so that naming
    # classes never needs the network.
    text = resources.files("occlusion_widget").joinpath("data/imagenet_class_index.json")
    index = json.loads(text.read_text(encoding="utf-8"))
    return tuple((index[str(i)][0], index[str(i)][1]) for i in range(len(index)))


def imagenet() -> list[str]:
    """The 1000 ImageNet class names in model output order (Keras's ``decode_predictions`` names).

    Returns
    -------
    list of str

    Examples
    --------
    >>> names = imagenet()
    >>> len(names), names[0], names[386]
    (1000, 'tench', 'African_elephant')
    """
    return [name for _, name in _imagenet_index()]


def imagenet_wordnet_ids() -> list[str]:
    """The 1000 WordNet ids (``"n01440764"`` ...) in model output order.

    Examples
    --------
    >>> imagenet_wordnet_ids()[0]
    'n01440764'
    """
    return [wnid for wnid, _ in _imagenet_index()]


def cifar10() -> list[str]:
    """The 10 CIFAR-10 class names in label order.

    Examples
    --------
    >>> cifar10()[:3]
    ['airplane', 'automobile', 'bird']
    """
    return list(CIFAR10)


_NAMED = {"imagenet": imagenet, "cifar10": cifar10, "cifar-10": cifar10}


def resolve(labels):
    """Check a labels argument before the class count is known.

    Named sets become their list of names, sequences (and arrays) become lists of str, dicts
    and None pass through; :func:`as_list` finishes the job once the model's class count is
    known. Called at construction, so a misspelt set name fails at once.

    Parameters
    ----------
    labels : None, list, tuple, array, dict or str

    Returns
    -------
    None, list of str or dict

    Raises
    ------
    ValueError
        An unknown label set name.
    TypeError
        Anything that is not labels.

    Examples
    --------
    >>> resolve("cifar10")[:2]
    ['airplane', 'automobile']
    >>> resolve(("cat", 7))
    ['cat', '7']
    """
    if labels is None or isinstance(labels, dict):
        return labels
    if isinstance(labels, str):
        if labels.lower() not in _NAMED:
            raise ValueError(
                f"unknown label set {labels!r}; use 'imagenet', 'cifar10', a list or a dict"
            )
        return _NAMED[labels.lower()]()
    if hasattr(labels, "tolist"):
        labels = labels.tolist()
    if not isinstance(labels, (list, tuple)):
        raise TypeError(
            f"labels must be a list of class names, a dict {{index: name}}, 'imagenet', "
            f"'cifar10' or None; got {type(labels).__name__}"
        )
    return [str(name) for name in labels]


def as_list(labels, num_classes: int) -> list[str]:
    """Normalise labels to one name per class.

    Parameters
    ----------
    labels : None, list, tuple, dict or str
        ``None`` gives ``"class 0"``, ``"class 1"`` ...; a list or tuple must have exactly
        ``num_classes`` names; a dict maps class index -> name (missing classes get
        ``"class i"``); ``"imagenet"`` or ``"cifar10"`` name the shipped lists.
    num_classes : int
        The model's number of classes.

    Returns
    -------
    list of str

    Raises
    ------
    ValueError
        A list of the wrong length, dict keys out of range, or an unknown dataset name.
    TypeError
        Anything else.

    Examples
    --------
    >>> as_list({1: "cat"}, 3)
    ['class 0', 'cat', 'class 2']
    """
    labels = resolve(labels)
    if labels is None:
        return [f"class {i}" for i in range(num_classes)]
    if isinstance(labels, dict):
        out = [f"class {i}" for i in range(num_classes)]
        for key, name in labels.items():
            if isinstance(key, bool) or not isinstance(key, numbers.Integral):
                raise TypeError(f"label dict keys must be class indices (int); got {key!r}")
            if not 0 <= int(key) < num_classes:
                raise ValueError(
                    f"label for class {key} is out of range: the model has {num_classes} classes"
                )
            out[int(key)] = str(name)
        return out
    if len(labels) != num_classes:
        raise ValueError(
            f"got {len(labels)} labels for a model with {num_classes} classes; pass exactly "
            f"one name per class (or a dict of index -> name)"
        )
    return labels
