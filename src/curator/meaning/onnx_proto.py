"""Just enough of the ONNX protobuf format to write a model for onnxruntime, without the `onnx` package.

An ONNX model is a protocol-buffers message (onnx.proto, proto2). This writes the few messages a graph
of plain nodes needs: ModelProto, GraphProto, NodeProto, AttributeProto, TensorProto (raw_data),
ValueInfoProto with a tensor type, OperatorSetIdProto. Field numbers are onnx.proto's; repeated
numbers are written one field each (unpacked), which every protobuf parser reads.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

import numpy as np

FLOAT, UINT8, INT8, INT32, INT64 = 1, 2, 3, 6, 7  # TensorProto.DataType
_DTYPES = {np.dtype(np.float32): FLOAT, np.dtype(np.uint8): UINT8, np.dtype(np.int8): INT8,
           np.dtype(np.int32): INT32, np.dtype(np.int64): INT64}


def _varint(value: int) -> bytes:
    value &= (1 << 64) - 1  # negative int64 as two's complement, ten bytes
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _int(number: int, value: int) -> bytes:
    return _varint(number << 3) + _varint(value)


def _bytes(number: int, value: bytes | str) -> bytes:
    if isinstance(value, str):
        value = value.encode("utf-8")
    return _varint(number << 3 | 2) + _varint(len(value)) + value


def _float(number: int, value: float) -> bytes:
    return _varint(number << 3 | 5) + struct.pack("<f", value)


def tensor(name: str, array: np.ndarray) -> bytes:
    """TensorProto: dims 1, data_type 2, name 8, raw_data 9 (little-endian)."""
    array = np.ascontiguousarray(array)
    out = b"".join(_int(1, d) for d in array.shape) + _int(2, _DTYPES[array.dtype]) + _bytes(8, name)
    return out + _bytes(9, array.astype(array.dtype.newbyteorder("<"), copy=False).tobytes())


def value_info(name: str, elem_type: int, shape: list[int | str]) -> bytes:
    """ValueInfoProto (name 1, type 2) of a tensor: TypeProto.tensor_type 1 {elem_type 1, shape 2 {dim 1}}."""
    dims = b"".join(_bytes(1, _int(1, d) if isinstance(d, int) else _bytes(2, d)) for d in shape)
    return _bytes(1, name) + _bytes(2, _bytes(1, _int(1, elem_type) + _bytes(2, dims)))


def _attribute(name: str, value: int | float | list[int]) -> bytes:
    """AttributeProto: name 1, f 2, i 3, ints 8, type 20 (FLOAT 1, INT 2, INTS 7)."""
    if isinstance(value, bool) or isinstance(value, int):
        return _bytes(1, name) + _int(3, int(value)) + _int(20, 2)
    if isinstance(value, float):
        return _bytes(1, name) + _float(2, value) + _int(20, 1)
    return _bytes(1, name) + b"".join(_int(8, v) for v in value) + _int(20, 7)


@dataclass
class Graph:
    """Nodes in order, their initializers, the graph's inputs and outputs; `model()` is the file."""
    name: str
    nodes: list[bytes] = field(default_factory=list)
    initializers: list[bytes] = field(default_factory=list)
    inputs: list[bytes] = field(default_factory=list)
    outputs: list[bytes] = field(default_factory=list)
    _count: int = 0
    _names: set[str] = field(default_factory=set)

    def init(self, name: str, array: np.ndarray) -> str:
        """An initializer, once: a name names one tensor (a second call with the name only returns it)."""
        if name not in self._names:
            self._names.add(name)
            self.initializers.append(tensor(name, array))
        return name

    def node(self, op: str, inputs: list[str], outputs: list[str] | None = None, *, domain: str = "",
             **attributes: int | float | list[int]) -> str:
        """NodeProto: input 1, output 2, name 3, op_type 4, attribute 5, domain 7. Returns the first output."""
        self._count += 1
        outputs = outputs or [f"{op}_{self._count}"]
        body = b"".join(_bytes(1, i) for i in inputs) + b"".join(_bytes(2, o) for o in outputs)
        body += _bytes(3, f"n{self._count}") + _bytes(4, op)
        body += b"".join(_bytes(5, _attribute(k, v)) for k, v in attributes.items())
        if domain:
            body += _bytes(7, domain)
        self.nodes.append(body)
        return outputs[0]

    def model(self, opsets: dict[str, int], ir_version: int = 8) -> bytes:
        """ModelProto: ir_version 1, producer_name 2, graph 7, opset_import 8 {domain 1, version 2}."""
        graph = b"".join(_bytes(1, n) for n in self.nodes) + _bytes(2, self.name)
        graph += b"".join(_bytes(5, t) for t in self.initializers)
        graph += b"".join(_bytes(11, v) for v in self.inputs) + b"".join(_bytes(12, v) for v in self.outputs)
        out = _int(1, ir_version) + _bytes(2, "curator")
        out += b"".join(_bytes(8, (_bytes(1, d) if d else b"") + _int(2, v)) for d, v in opsets.items())
        return out + _bytes(7, graph)
