"""Where a file is to be written, checked before the work that fills it.

A folder given as the file, or a file in a folder that does not exist, gets a message that
names the path and what to give instead; Python's own (``IsADirectoryError: [Errno 21] Is a
directory``) came after the page was built or the figure drawn, and named no way out.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["checked_output_path"]


def checked_output_path(path, what: str, example: str) -> Path:
    """``path`` as a :class:`~pathlib.Path` a file can be written to, or a clear error.

    Parameters
    ----------
    path : str or os.PathLike
        Where the caller asked for the file.
    what : str
        What is written, for messages ("the page", "the figure").
    example : str
        A file name to suggest inside a folder given by mistake ("occlusion.html").

    Raises
    ------
    TypeError
        ``path`` is no path.
    IsADirectoryError
        ``path`` is a folder.
    FileNotFoundError
        Its folder does not exist.

    Examples
    --------
    >>> import tempfile
    >>> folder = tempfile.mkdtemp()
    >>> checked_output_path(os.path.join(folder, "a.html"), "the page", "a.html").name
    'a.html'
    >>> checked_output_path(folder, "the page", "a.html")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    IsADirectoryError: cannot write the page to '...': it is a folder; give a file in it, such as '.../a.html'
    """  # noqa: E501
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(
            f"the path to write {what} to must be a str or a pathlib.Path; got "
            f"{type(path).__name__}"
        )
    out = Path(path)
    if out.is_dir():
        raise IsADirectoryError(
            f"cannot write {what} to {str(out)!r}: it is a folder; give a file in it, such as "
            f"{str(out / example)!r}"
        )
    if not out.parent.is_dir():
        raise FileNotFoundError(
            f"cannot write {what} to {str(out)!r}: the folder {str(out.parent)!r} does not "
            f"exist; create it first (os.makedirs) or choose another path"
        )
    return out
