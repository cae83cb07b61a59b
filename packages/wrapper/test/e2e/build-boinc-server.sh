#!/usr/bin/env bash
# Builds BOINC server 1.6.2 (server, tools, web code) and the official C++ wrapper sample from the source
# tarball in ../shared/boinc-server, once per tarball: the build is cached outside the clone, under
# $AXIOM_BOINC_SERVER_CACHE (default /var/cache/axiom-boinc-server)/<sha256 of the tarball>.
# Prints the build directory on its last line; the end-to-end test finds it the same way.
# Usage: build-boinc-server.sh [TARBALL]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo_root="$(cd "$here/../../../.." && pwd)"
tarball="${1:-${AXIOM_BOINC_SERVER_TARBALL:-$repo_root/../shared/boinc-server/boinc-server-1.6.2.tar.xz}}"
cache_root="${AXIOM_BOINC_SERVER_CACHE:-/var/cache/axiom-boinc-server}"

if [[ ! -f "$tarball" ]]; then
  echo "build-boinc-server: no BOINC server source tarball at $tarball" >&2
  exit 2
fi
hash="$(sha256sum "$tarball" | cut -d' ' -f1)"
cache="$cache_root/$hash"
# A build is complete only when this marker exists: it is written last.
if [[ -f "$cache/.built" ]]; then
  echo "$cache/src"
  exit 0
fi

# configure writes absolute paths (the Python tools' boinc_path_config.py), so the build happens in
# place; a directory without the marker is an interrupted build and starts over.
rm -rf "$cache"
mkdir -p "$cache"
echo "build-boinc-server: building $tarball in $cache (about 10 minutes on 2 cores)" >&2
tar -xJf "$tarball" -C "$cache"
src_dir="$(find "$cache" -mindepth 1 -maxdepth 1 -type d | head -n1)"
mv "$src_dir" "$cache/src"
jobs="$(nproc)"
(
  cd "$cache/src"
  ./_autosetup
  ./configure --disable-client --disable-manager --enable-server --disable-fcgi
  # lib/ has a parallel-make race (one object built twice at -j2): build it alone first.
  make -C lib -j1
  make -j"$jobs"
  make -C samples/wrapper
) >"$cache/build.log" 2>&1 || {
  echo "build-boinc-server: build failed; last lines of $cache/build.log:" >&2
  tail -n 40 "$cache/build.log" >&2
  exit 1
}
touch "$cache/.built"
echo "$cache/src"
