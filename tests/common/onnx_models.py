"""Small ONNX pieces the Python tests build the same way (tests/bad, tests/cli)."""
import numpy as np
from onnx import TensorProto, numpy_helper


def external_weight(name, location, offset=0, length=None):
    """A 16x16 float weight (one non-zero) whose bytes are said to live in the
    external file `location` at `offset` (`length` defaults to its 1024 bytes).
    Returns (array, TensorProto)."""
    w = np.zeros((16, 16), np.float32)
    w[0, 0] = 1
    t = numpy_helper.from_array(w, name)
    t.ClearField("raw_data")
    t.data_location = TensorProto.EXTERNAL
    for k, v in (("location", location), ("offset", str(offset)),
                 ("length", str(w.nbytes if length is None else length))):
        e = t.external_data.add()
        e.key, e.value = k, v
    return w, t
