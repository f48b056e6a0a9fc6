"""Arrow columns -> numpy without per-row Python work (pyarrow is imported lazily).

Handles what LeRobot / Hugging Face `datasets` write: primitive columns, fixed-size and variable
lists (datasets' Sequence / List), nested lists and datasets' ArrayND extension types (their
storage is nested lists), text, and image structs {bytes, path} holding PNG/JPEG bytes.
"""
from __future__ import annotations

import io
from typing import Any, Sequence

import numpy as np

from recordings.dataset import DatasetError


def _decode_image(cell: dict | None, where: str) -> np.ndarray:
    from PIL import Image  # lazy: Pillow comes with imageio; only image features need it
    data = (cell or {}).get("bytes")
    if not data:
        raise DatasetError(f"{where}: image cell without embedded bytes (path-only images "
                           f"are not read)")
    try:
        with Image.open(io.BytesIO(data)) as im:
            return np.asarray(im.convert("RGB"))
    except (OSError, ValueError) as exc:
        raise DatasetError(f"{where}: undecodable image bytes ({exc})") from None


def column_to_numpy(column: Any, shape: Sequence[int] | None = None, *, image: bool = False,
                    where: str = "column") -> np.ndarray:
    """A pyarrow (Chunked)Array -> numpy [n, *shape]. shape: one row's shape, when known
    (needed to fold flattened lists back); image: cells are {bytes, path} structs."""
    import pyarrow as pa
    arr = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    n = len(arr)
    if isinstance(arr, pa.ExtensionArray):
        arr = arr.storage
    t = arr.type
    if image or pa.types.is_struct(t):
        return np.stack([_decode_image(c, where) for c in arr.to_pylist()]) if n else \
            np.zeros((0, *(shape or (0, 0, 3))), np.uint8)
    if pa.types.is_string(t) or pa.types.is_large_string(t):
        return np.asarray(arr.to_pylist(), dtype=str)
    depth = 0
    while pa.types.is_list(t) or pa.types.is_large_list(t) or pa.types.is_fixed_size_list(t):
        if arr.null_count:
            raise DatasetError(f"{where}: null values in a list column")
        arr = arr.flatten()
        t = arr.type
        depth += 1
    if arr.null_count:
        raise DatasetError(f"{where}: {arr.null_count} null value(s)")
    values = arr.to_numpy(zero_copy_only=False)
    if depth == 0:
        return values
    if shape and int(np.prod(shape)) * n == values.size:
        return values.reshape(n, *shape)
    if n and values.size % n == 0:
        return values.reshape(n, -1)
    raise DatasetError(f"{where}: ragged list column ({values.size} values in {n} rows)")
