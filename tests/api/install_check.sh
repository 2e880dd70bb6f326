#!/bin/sh
# Installs the build into a staging folder and builds the public-API test against the
# installed header and library through pkg-config, as a user of the package would.
#   install_check.sh BUILD_DIR STAGE_DIR SRC_DIR CHECK_H_DIR MODEL...
set -eu
build=$1 stage=$2 src=$3 check_h=$4
shift 4
rm -rf "$stage"
meson install -C "$build" --destdir "$stage" --no-rebuild --quiet >"$stage.log" 2>&1 ||
  { cat "$stage.log"; echo "install_check: meson install failed"; exit 1; }
pc=$(find "$stage" -name onnx-lsc.pc | head -n 1)
[ -n "$pc" ] || { echo "install_check: no onnx-lsc.pc installed"; exit 1; }
export PKG_CONFIG_PATH="$(dirname "$pc")" PKG_CONFIG_SYSROOT_DIR="$stage"
flags=$(pkg-config --cflags --libs onnx-lsc)
echo "pkg-config onnx-lsc: $flags"
# Only the installed header and library: the source tree's include/ is not on the path.
${CC:-cc} -std=c11 -Wall -Wextra -Werror -o "$stage/test-public-api" "$src/test_public_api.c" \
  -I"$check_h" $flags -lm
libdir=$(dirname "$(dirname "$pc")")  # pkgconfig/ sits in the library folder
[ -f "$libdir/libonnx-lsc.so" ] || { echo "install_check: no libonnx-lsc.so in $libdir"; exit 1; }
mkdir -p "$stage/tmp"
LD_LIBRARY_PATH="$libdir" "$stage/test-public-api" "$stage/tmp" "$@"
