/* The one overwrite rule of every onnx-lsc command that writes files (as gzip and
 * zstd): an existing output is replaced only with -f. The library then writes a
 * temporary file and renames it, so -f never leaves a half-written output. */
#include <stdio.h>
#include <sys/stat.h>

#include "commands.h"
#include "exit_codes.h"

int lsc_cli_check_output(const char *path, const char *input, int force)
{
    struct stat out, in;
    if (input && stat(path, &out) == 0 && stat(input, &in) == 0 && out.st_dev == in.st_dev &&
        out.st_ino == in.st_ino) {
        lsc_cli_error("%s: output would overwrite the input", path);
        return lsc_exit_for_status(LSC_ERR_INVALID_ARGUMENT);
    }
    /* A folder: the library's write fails and says so. */
    if (force || lstat(path, &out) != 0 || S_ISDIR(out.st_mode))
        return LSC_EXIT_OK;
    lsc_cli_error("%s: exists: use -f to overwrite it", path);
    return lsc_exit_for_status(LSC_ERR_INVALID_ARGUMENT);
}
