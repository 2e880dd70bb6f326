"""The one exception of onnx_lsc (its own module so that the C extension can raise it)."""


class LscError(Exception):
    """A failure of onnx-lsc.

    status:      the library's lsc_status code (stable: 1 invalid argument, 2 out of
                 memory, 3 I/O, 4 not ONNX, 5 bad model, 6 external data, 7 malformed
                 bundle, 8 checksum, 9 version, 10 unsupported, 11 too large,
                 12 internal); the command's exit code is 10 + status
    status_name: a short name for it, e.g. "checksum mismatch"
    message:     one line naming the file, tensor or node and what is wrong
    """

    def __init__(self, status, status_name, message):
        super().__init__(status, status_name, message)
        self.status = status
        self.status_name = status_name
        self.message = message

    def __str__(self):
        return self.message
