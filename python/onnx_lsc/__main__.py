"""python -m onnx_lsc ARGS: the onnx-lsc command carried in the package."""
import os
import sys

from . import get_library_path


def main():
    exe = os.path.join(os.path.dirname(os.path.abspath(__file__)), "onnx-lsc")
    # `verify` loads the plugin that sits beside the command.
    os.environ.setdefault("ONNX_LSC_ORT_PLUGIN", get_library_path())
    sys.stdout.flush()
    os.execv(exe, ["onnx-lsc", *sys.argv[1:]])


if __name__ == "__main__":
    main()
