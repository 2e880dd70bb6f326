#!/usr/bin/env bash
# Brings ONNX Runtime into third_party/ort (gitignored), for the custom-op plugin, its
# tests and `onnx-lsc verify`. Idempotent; needs root only for nothing (apt runs on a
# private state folder, the system's package database is never touched).
#   runtime: libonnxruntime.so.1 (linux-x64) from npm's onnxruntime-node, --ignore-scripts
#            -> third_party/ort/npm/node_modules/onnxruntime-node/bin/napi-v6/linux/x64/
#   headers: Debian testing's libonnxruntime-dev, fetched with `apt-get download` through
#            this machine's own Debian mirror with the suite switched to testing, then
#            unpacked with `dpkg -x` (never installed) -> third_party/ort/deb/usr/include/onnxruntime
# The headers' ORT_API_VERSION and the runtime's may differ: the plugin and the loader
# ask for the highest API version both offer (see src/ort_runner/ort_runner.c).
#   ORT_NPM_VERSION=1.23.2 scripts/setup-ort.sh    another runtime version
set -euo pipefail
cd "$(dirname "$0")/.."

ORT_NPM_VERSION=${ORT_NPM_VERSION:-1.23.2}   # matches Debian testing's headers (API 23)
ORT_DEB_SUITE=${ORT_DEB_SUITE:-testing}
top=$PWD/third_party/ort
npm_dir=$top/npm
deb_dir=$top/deb
apt_dir=$top/apt
lib=$npm_dir/node_modules/onnxruntime-node/bin/napi-v6/linux/x64/libonnxruntime.so.1
header=$deb_dir/usr/include/onnxruntime/onnxruntime_c_api.h

say() { echo "setup-ort: $*"; }
die() { echo "setup-ort: $*" >&2; exit 1; }

[ "$(uname -s)-$(uname -m)" = "Linux-x86_64" ] || die "only linux-x64 is supported (npm ships no other CPU build we use)"

# --- runtime ------------------------------------------------------------------------
have_npm_version() {
  [ -f "$lib" ] && grep -q "\"version\": \"$ORT_NPM_VERSION\"" \
    "$npm_dir/node_modules/onnxruntime-node/package.json" 2>/dev/null
}
if have_npm_version; then
  say "runtime onnxruntime-node@$ORT_NPM_VERSION already in $npm_dir"
else
  command -v npm >/dev/null || die "npm not found (scripts/install-deps.sh installs it)"
  mkdir -p "$npm_dir"
  [ -f "$npm_dir/package.json" ] || echo '{"private": true}' >"$npm_dir/package.json"
  say "npm install --ignore-scripts onnxruntime-node@$ORT_NPM_VERSION"
  npm install --prefix "$npm_dir" --ignore-scripts --no-audit --no-fund --loglevel=error \
    "onnxruntime-node@$ORT_NPM_VERSION" >/dev/null
  [ -f "$lib" ] || die "onnxruntime-node@$ORT_NPM_VERSION holds no $lib"
fi

# --- headers ------------------------------------------------------------------------
# The machine's Debian mirror: the first apt source serving this release's codename.
debian_mirror() {
  local codename
  codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
  [ -n "$codename" ] || return 1
  {
    # deb822 stanzas: print "URI|Signed-By" of a stanza whose Suites hold the codename.
    for f in /etc/apt/sources.list.d/*.sources; do
      [ -f "$f" ] || continue
      awk -v want="$codename" '
        function flush() {
          if (types ~ /(^| )deb( |$)/ && (" " suites " ") ~ (" " want " ") && uris != "") {
            split(uris, u, " "); print u[1] "|" signed; found = 1; exit
          }
          types = suites = uris = signed = ""
        }
        /^[ \t]*#/ { next }
        /^[ \t]*$/ { flush(); next }
        tolower($1) == "types:"     { $1 = ""; types = $0 }
        tolower($1) == "suites:"    { $1 = ""; suites = $0 }
        tolower($1) == "uris:"      { $1 = ""; uris = $0 }
        tolower($1) == "signed-by:" { signed = $2 }
        END { if (!found) flush() }' "$f"
    done
    # one-line format: deb [options] URI SUITE COMPONENTS...
    for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
      [ -f "$f" ] || continue
      awk -v want="$codename" '
        $1 == "deb" {
          i = 2; signed = ""
          if ($2 ~ /^\[/) { while (i <= NF && $i !~ /\]$/) { if ($i ~ /signed-by=/) signed = $i; i++ }
                            if ($i ~ /signed-by=/) signed = $i; i++ }
          sub(/.*signed-by=/, "", signed); sub(/\]$/, "", signed)
          if ($(i + 1) == want) { print $i "|" signed; exit }
        }' "$f"
    done
  } | head -n 1
}

if [ -f "$header" ]; then
  say "headers already in $deb_dir"
else
  command -v apt-get >/dev/null || die "apt-get not found: pass -Dort_include_dir= to meson instead"
  mirror=$(debian_mirror) || true
  [ -n "$mirror" ] || die "no Debian mirror for this release found in /etc/apt/sources.list*"
  uri=${mirror%%|*}
  keyring=${mirror#*|}
  [ -n "$keyring" ] || keyring=/usr/share/keyrings/debian-archive-keyring.gpg
  mkdir -p "$apt_dir/lists/partial" "$apt_dir/cache/archives/partial" "$apt_dir/parts" "$apt_dir/pool"
  echo "deb [signed-by=$keyring] $uri $ORT_DEB_SUITE main" >"$apt_dir/sources.list"
  apt_opts=(-q -o "Dir::Etc::SourceList=$apt_dir/sources.list" -o "Dir::Etc::SourceParts=$apt_dir/parts"
            -o "Dir::State::Lists=$apt_dir/lists" -o "Dir::Cache=$apt_dir/cache"
            -o Acquire::Languages=none -o APT::Sandbox::User=root)
  say "apt-get update ($ORT_DEB_SUITE, private lists in $apt_dir)"
  apt-get "${apt_opts[@]}" update >"$apt_dir/update.log" 2>&1 || { cat "$apt_dir/update.log" >&2; die "apt-get update failed"; }
  rm -f "$apt_dir/pool/"*.deb
  (cd "$apt_dir/pool" && apt-get "${apt_opts[@]}" download libonnxruntime-dev >"$apt_dir/download.log" 2>&1) ||
    { cat "$apt_dir/download.log" >&2; die "apt-get download libonnxruntime-dev failed"; }
  rm -rf "$deb_dir"
  dpkg -x "$apt_dir/pool/"libonnxruntime-dev_*.deb "$deb_dir"
  [ -f "$header" ] || die "libonnxruntime-dev holds no onnxruntime_c_api.h"
  basename "$apt_dir/pool/"libonnxruntime-dev_*.deb >"$deb_dir/SOURCE"
fi

api=$(sed -n 's/^#define ORT_API_VERSION \([0-9]*\).*/\1/p' "$header")
say "ready: runtime onnxruntime-node@$(sed -n 's/.*"version": "\([^"]*\)".*/\1/p' \
  "$npm_dir/node_modules/onnxruntime-node/package.json" | head -n 1)," \
  "headers $(cat "$deb_dir/SOURCE" 2>/dev/null || echo '?') (ORT_API_VERSION $api)"
