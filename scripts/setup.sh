#!/usr/bin/env bash
# Installs what gridplan needs to build and run, on Debian/Ubuntu: CMake and libclang (to build HiGHS and
# the PROJ bindings), PROJ (coordinates) and pkg-config. Says exactly what to run where it cannot.
#   --e2e   also the real clients the end-to-end tests drive: GDAL (ogrinfo) and Chromium
#   --load  also wrk, for scripts/load.sh
set -euo pipefail
e2e=0
load=0
for arg in "$@"; do
  case "$arg" in
    --e2e) e2e=1 ;;
    --load) load=1 ;;
    *) echo "setup.sh: unknown option $arg" >&2; exit 2 ;;
  esac
done

if ! command -v cargo >/dev/null 2>&1; then
  echo "gridplan needs the Rust toolchain (cargo). Install it from https://rustup.rs, then run this again." >&2
  exit 1
fi

need=()
command -v cmake >/dev/null 2>&1 || need+=(cmake)
command -v pkg-config >/dev/null 2>&1 || need+=(pkg-config)
pkg-config --exists proj 2>/dev/null || need+=(libproj-dev)
[ -f /usr/share/proj/proj.db ] || need+=(proj-data)
if ! ls /usr/lib/llvm-*/lib/libclang*.so* /usr/lib/x86_64-linux-gnu/libclang*.so* >/dev/null 2>&1; then
  need+=(libclang-dev)
fi

if ((e2e)); then
  command -v ogrinfo >/dev/null 2>&1 || need+=(gdal-bin)
  command -v chromium >/dev/null 2>&1 || need+=(chromium)
fi
if ((load)); then
  command -v wrk >/dev/null 2>&1 || need+=(wrk)
fi

if ((${#need[@]})); then
  if [ "$(id -u)" = 0 ]; then
    sudo=()
  elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    sudo=(sudo)
  else
    echo "gridplan needs these system packages: ${need[*]}" >&2
    echo "Run:  sudo apt-get update && sudo apt-get install -y ${need[*]}" >&2
    exit 1
  fi
  echo "setup: installing ${need[*]}" >&2
  "${sudo[@]}" apt-get update -qq >/dev/null || true
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq "${need[@]}" >/dev/null
fi

if ! pkg-config --atleast-version 9.0.0 proj; then
  echo "gridplan needs PROJ 9.0 or newer; pkg-config finds $(pkg-config --modversion proj)." >&2
  echo "On Debian 12 / Ubuntu 22.04+ run: sudo apt-get install -y libproj-dev proj-data" >&2
  exit 1
fi
