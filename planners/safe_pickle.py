"""Read torch.save archives (zip format) without executing any code from the file.

diffusion_policy writes its `.ckpt` files with `torch.save(payload, f, pickle_module=dill)`: a zip
holding `<name>/data.pkl` (the pickled payload) and `<name>/data/<key>` (the raw bytes of every
tensor storage). A pickle can name any importable callable and call it while loading, so
`torch.load` on a stranger's file can run arbitrary code. This module's unpickler resolves only an
allow-list of globals to harmless local stand-ins:

- tensors: torch's storage types (as dtype markers), `_rebuild_tensor_v2`, `_rebuild_parameter`
  (rebuilt as plain tensors), `torch.Size`, torch dtypes;
- containers: OrderedDict, defaultdict (rebuilt as a plain dict), set, frozenset; bytes written
  with protocol 2 (`_codecs.encode(text, "latin1")`); dill's `_load_type` for builtin types only;
- OmegaConf's own classes (DictConfig, ListConfig, the value nodes, their metadata), which never
  get imported: they are rebuilt as inert records and then converted to plain dicts, lists and
  values (`typing.Any` is a marker), so a configuration is data, never code.

Anything else (os.system, builtins.eval, dill's function/code constructors, a user's class) raises
PlannerError naming the file and the global, before anything from the file has been called.
"""
from __future__ import annotations

import collections
import io
import pickle
import zipfile
from pathlib import Path
from typing import Any

import torch

from planners.protocol import PlannerError

_DTYPE_OF_STORAGE = {
    "FloatStorage": torch.float32, "DoubleStorage": torch.float64, "HalfStorage": torch.float16,
    "BFloat16Storage": torch.bfloat16, "LongStorage": torch.int64, "IntStorage": torch.int32,
    "ShortStorage": torch.int16, "CharStorage": torch.int8, "ByteStorage": torch.uint8,
    "BoolStorage": torch.bool, "ComplexFloatStorage": torch.complex64,
    "ComplexDoubleStorage": torch.complex128,
}
_DTYPES = {"float32", "float64", "float16", "bfloat16", "int64", "int32", "int16", "int8", "uint8",
           "bool", "complex64", "complex128", "float", "double", "half", "long", "int"}
# dill's _load_type(name): only builtin data types; never `type`, functions, code or modules
_DILL_TYPES = {"dict": dict, "list": list, "tuple": tuple, "set": set, "frozenset": frozenset,
               "int": int, "float": float, "str": str, "bytes": bytes, "bool": bool,
               "complex": complex, "NoneType": type(None), "DictType": dict, "ListType": list,
               "TupleType": tuple, "IntType": int, "FloatType": float, "StringType": str}
_OMEGACONF_CONTAINERS = {("omegaconf.dictconfig", "DictConfig"): "dict",
                         ("omegaconf.listconfig", "ListConfig"): "list"}
_OMEGACONF_VALUES = {"AnyNode", "StringNode", "IntegerNode", "FloatNode", "BooleanNode", "BytesNode",
                     "PathNode"}


class AnyType:
    """Stands for `typing.Any` in OmegaConf metadata (never used as a value)."""

    def __repr__(self) -> str:
        return "typing.Any"


class OmegaRecord:
    """An OmegaConf object read as data: `_kind` is "dict", "list", "value" or "metadata"; `state`
    is what its __getstate__ wrote (for containers `_content`, for value nodes `_val`)."""

    _kind = ""

    def __init__(self, *args: Any) -> None:
        self.state: Any = None

    def __setstate__(self, state: Any) -> None:
        self.state = state


def _record_class(kind: str) -> type:
    return type(f"Omega{kind.title()}Record", (OmegaRecord,), {"_kind": kind})


_RECORD_CLASSES = {kind: _record_class(kind) for kind in ("dict", "list", "value", "metadata")}


class _StorageType:
    """Marker for a GLOBAL like `torch FloatStorage`: carries the dtype for persistent_load."""

    def __init__(self, dtype: torch.dtype) -> None:
        self.dtype = dtype


def _rebuild_parameter(data: torch.Tensor, requires_grad: bool, backward_hooks: Any, *rest: Any) -> torch.Tensor:
    return data


def _latin1_encode(text: str, encoding: str = "latin1") -> bytes:
    if encoding not in ("latin1", "latin-1"):
        raise pickle.UnpicklingError(f"_codecs.encode with encoding {encoding!r}")
    return text.encode("latin1")


def _plain_defaultdict(factory: Any = None, *rest: Any) -> dict:
    return {}


class _SafeUnpickler(pickle.Unpickler):
    def __init__(self, data: bytes, archive: zipfile.ZipFile, prefix: str, source: Path) -> None:
        super().__init__(io.BytesIO(data))
        self.archive, self.prefix, self.source = archive, prefix, source
        self.storages: dict[str, torch.storage.TypedStorage] = {}

    def find_class(self, module: str, name: str) -> Any:
        found = _allowed_global(module, name)
        if found is None:
            raise PlannerError(f"{self.source}: refusing to unpickle global {module}.{name}: "
                               "loading it could run code from the file (only tensors, containers "
                               "and an OmegaConf configuration are read)")
        return found

    def persistent_load(self, pid: Any) -> Any:
        if not (isinstance(pid, tuple) and len(pid) >= 5 and pid[0] == "storage"):
            raise PlannerError(f"{self.source}: unknown persistent id {pid!r:.80} in data.pkl")
        storage_type, key, _location, numel = pid[1:5]
        dtype = storage_type.dtype if isinstance(storage_type, _StorageType) else storage_type
        if not isinstance(dtype, torch.dtype):
            raise PlannerError(f"{self.source}: tensor storage {key} has no known dtype")
        if key not in self.storages:
            name = f"{self.prefix}data/{key}"
            try:
                raw = self.archive.read(name)
            except KeyError:
                raise PlannerError(f"{self.source}: missing tensor data {name}") from None
            itemsize = torch.empty((), dtype=dtype).element_size()
            if len(raw) != numel * itemsize:
                raise PlannerError(f"{self.source}: tensor data {name} holds {len(raw)} bytes, "
                                   f"expected {numel * itemsize}")
            untyped = torch.UntypedStorage.from_buffer(raw, dtype=torch.uint8) if raw else torch.UntypedStorage(0)
            self.storages[key] = torch.storage.TypedStorage(wrap_storage=untyped, dtype=dtype, _internal=True)
        return self.storages[key]


def _allowed_global(module: str, name: str) -> Any:
    if module == "collections" and name == "OrderedDict":
        return collections.OrderedDict
    if module == "collections" and name == "defaultdict":
        return _plain_defaultdict
    if module == "builtins" and name in ("set", "frozenset"):
        return {"set": set, "frozenset": frozenset}[name]
    if module == "_codecs" and name == "encode":
        return _latin1_encode
    if module == "typing" and name == "Any":
        return AnyType()
    if module == "dill._dill" and name == "_load_type":
        return _dill_load_type
    if module == "torch._utils" and name == "_rebuild_tensor_v2":
        return torch._utils._rebuild_tensor_v2
    if module == "torch._utils" and name == "_rebuild_tensor":
        return torch._utils._rebuild_tensor
    if module == "torch._utils" and name == "_rebuild_parameter":
        return _rebuild_parameter
    if module == "torch" and name in _DTYPE_OF_STORAGE:
        return _StorageType(_DTYPE_OF_STORAGE[name])
    if module == "torch" and name == "Size":
        return torch.Size
    if module == "torch" and name in _DTYPES:
        return getattr(torch, name)
    if (module, name) in _OMEGACONF_CONTAINERS:
        return _RECORD_CLASSES[_OMEGACONF_CONTAINERS[(module, name)]]
    if module == "omegaconf.nodes" and name in _OMEGACONF_VALUES:
        return _RECORD_CLASSES["value"]
    if module == "omegaconf.base" and name in ("Metadata", "ContainerMetadata"):
        return _RECORD_CLASSES["metadata"]
    return None


def _dill_load_type(name: str) -> type:
    if name not in _DILL_TYPES:
        raise pickle.UnpicklingError(f"dill._dill._load_type({name!r}) is not a plain data type")
    return _DILL_TYPES[name]


def plain(obj: Any) -> Any:
    """OmegaConf records inside `obj` -> plain dicts, lists and values (recursively); containers
    of tensors are kept as they are (OrderedDict stays OrderedDict)."""
    if isinstance(obj, OmegaRecord):
        kind = type(obj)._kind
        state = obj.state if isinstance(obj.state, dict) else {}
        if kind == "value":
            return plain(state.get("_val"))
        if kind in ("dict", "list"):
            content = state.get("_content")
            if isinstance(content, dict):
                return {key: plain(value) for key, value in content.items()}
            if isinstance(content, list):
                return [plain(value) for value in content]
            return content          # None, "???" (missing) or an interpolation string
        return None
    if isinstance(obj, collections.OrderedDict):
        return collections.OrderedDict((k, plain(v)) for k, v in obj.items())
    if isinstance(obj, dict):
        return {k: plain(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [plain(v) for v in obj]
    if isinstance(obj, tuple):
        return tuple(plain(v) for v in obj)
    return obj


def load_torch_archive(path: str | Path) -> Any:
    """A torch.save zip archive -> its payload as plain containers and tensors (see module doc).

    Raises PlannerError (one line naming the file) for a file that is not a torch zip archive, a
    pickle that names any global outside the allow-list, or truncated tensor data."""
    source = Path(path)
    try:
        archive = zipfile.ZipFile(source)
    except (OSError, zipfile.BadZipFile) as exc:
        raise PlannerError(f"{source}: not a torch.save zip archive ({exc})") from None
    with archive:
        pickles = [n for n in archive.namelist() if n.endswith("/data.pkl") and n.count("/") == 1]
        if len(pickles) != 1:
            raise PlannerError(f"{source}: not a torch.save zip archive (no <name>/data.pkl)")
        prefix = pickles[0][: -len("data.pkl")]
        byteorder = prefix + "byteorder"
        if byteorder in archive.namelist() and archive.read(byteorder).strip() not in (b"little", b""):
            raise PlannerError(f"{source}: big-endian tensor data is not supported")
        unpickler = _SafeUnpickler(archive.read(pickles[0]), archive, prefix, source)
        try:
            payload = unpickler.load()
        except PlannerError:
            raise
        except Exception as exc:   # corrupt or hostile pickle: report, never continue
            raise PlannerError(f"{source}: cannot read the pickled payload ({type(exc).__name__}: {exc})") from None
    return plain(payload)
