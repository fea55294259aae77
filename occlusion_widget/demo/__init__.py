"""The toy: a small shapes model that ships trained, its training recipe and its known answer.

:mod:`.shapes` draws the images and builds and loads the model (its names are importable from
here: ``ow.demo.load_model()``); :mod:`.training` is the recipe that trained the shipped
weights; :mod:`.check` is the known-answer check every trained model must pass.
"""

from .shapes import (
    CLASS_NAMES,
    IMAGE_SIZE,
    WEIGHTS_PATH,
    build_model,
    load_model,
    make_dataset,
    sample_image,
)

__all__ = [
    "CLASS_NAMES",
    "IMAGE_SIZE",
    "WEIGHTS_PATH",
    "build_model",
    "load_model",
    "make_dataset",
    "sample_image",
]
