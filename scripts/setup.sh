#!/usr/bin/env bash
# Installs what gridplan needs to build and run, on Debian/Ubuntu: CMake and libclang (to build HiGHS and
# the PROJ bindings), PROJ (coordinates), pkg-config, and a CJK font (WenQuanYi Micro Hei, for the atlas
# `gridplan report` writes). Says exactly what to run where it cannot.
#   --e2e   also the real clients and servers the end-to-end tests drive: GDAL (ogrinfo), Chromium, and
#           PostgreSQL with PostGIS (the tests start a throwaway cluster of their own; none is set up here)
#   --load  also wrk, for scripts/load.sh
# Sourced (`source scripts/setup.sh`), it only defines its functions, so tests can call them.
set -euo pipefail

# has_libclang DIR...: succeeds when one of DIRs holds the C library that bindgen (clang-sys) loads:
# libclang.so, libclang-<version>.so or libclang.so.<version>. libclang-cpp (the C++ interface, which
# Debian's base image ships on its own) is not it.
has_libclang() {
  local dir file name
  for dir in "$@"; do
    [ -d "$dir" ] || continue
    for file in "$dir"/libclang.so "$dir"/libclang-*.so "$dir"/libclang.so.*; do
      [ -e "$file" ] || continue
      name="$(basename "$file")"
      case "$name" in
        libclang-cpp*) continue ;;
      esac
      return 0
    done
  done
  return 1
}

# pg_major: the newest PostgreSQL major version installed (its server binaries under
# /usr/lib/postgresql/<major>/bin), or nothing.
pg_major() {
  local d newest=""
  for d in /usr/lib/postgresql/*/bin/initdb; do
    [ -x "$d" ] || continue
    d="${d#/usr/lib/postgresql/}"
    d="${d%%/*}"
    if [ -z "$newest" ] || [ "$d" -gt "$newest" ]; then newest="$d"; fi
  done
  printf '%s' "$newest"
}

# pg_packages: the system packages PostgreSQL with PostGIS still needs (none when both are installed):
# PostGIS 3 for the installed server's major version; with no server yet, the distribution's server
# (Debian 12: PostgreSQL 15), whose PostGIS a second pass adds once its version is known.
pg_packages() {
  local major
  major="$(pg_major)"
  if [ -z "$major" ]; then
    echo postgresql
  elif ! [ -f "/usr/share/postgresql/$major/extension/postgis.control" ]; then
    echo "postgresql-$major-postgis-3"
  fi
}

# libclang_dirs: where clang-sys looks for libclang on Linux.
libclang_dirs() {
  local dirs=()
  [ -n "${LIBCLANG_PATH:-}" ] && dirs+=("$LIBCLANG_PATH")
  if command -v llvm-config >/dev/null 2>&1; then
    dirs+=("$(llvm-config --libdir 2>/dev/null || true)")
  fi
  local d
  for d in /usr/lib/llvm-*/lib /usr/lib/x86_64-linux-gnu /usr/lib/aarch64-linux-gnu /usr/lib64 /usr/lib \
    /usr/local/lib /usr/local/llvm/lib; do
    [ -d "$d" ] && dirs+=("$d")
  done
  printf '%s\n' "${dirs[@]}"
}

# gdal_python: where the system's GDAL cannot ask an OGC API for another CRS (the OAPIF driver's CRS
# open option came with GDAL 3.7; Debian 12 ships 3.6), a Python environment with pyogrio, whose wheel
# bundles a newer GDAL, for the end-to-end test of OGC API - Features Part 2. Never fatal: the test says
# it skipped that half when this could not be installed.
gdal_python() {
  if ogrinfo --format OAPIF 2>/dev/null | grep -q 'name="CRS"'; then
    return 0
  fi
  local dir="${XDG_CACHE_HOME:-$HOME/.cache}/gridplan/gdal-python"
  if "$dir/bin/python" -c 'import pyogrio' >/dev/null 2>&1; then
    return 0
  fi
  echo "setup: installing pyogrio (a GDAL with OGC API - Features Part 2) into $dir" >&2
  if ! { python3 -m venv "$dir" && "$dir/bin/pip" install -q pyogrio; } >/dev/null 2>&1; then
    echo "setup: could not install pyogrio into $dir; the OGC API CRS test through GDAL will be skipped" >&2
  fi
}

# install_packages PKG...: installs the Debian packages named (nothing when none), as root or through
# sudo; says what to run where it cannot.
install_packages() {
  (($#)) || return 0
  local need=("$@") sudo=()
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
}

main() {
  local e2e=0 load=0 arg
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

  local need=()
  command -v cmake >/dev/null 2>&1 || need+=(cmake)
  command -v pkg-config >/dev/null 2>&1 || need+=(pkg-config)
  pkg-config --exists proj 2>/dev/null || need+=(libproj-dev)
  [ -f /usr/share/proj/proj.db ] || need+=(proj-data)
  local dirs=()
  mapfile -t dirs < <(libclang_dirs)
  has_libclang "${dirs[@]}" || need+=(libclang-dev)
  # The CJK font `gridplan report` sets the atlas (网格图册, .pdf) in, embedded in the file; the map page's
  # Chinese in headless browsers too.
  [ -f /usr/share/fonts/truetype/wqy/wqy-microhei.ttc ] || need+=(fonts-wqy-microhei)

  if ((e2e)); then
    command -v ogrinfo >/dev/null 2>&1 || need+=(gdal-bin)
    command -v chromium >/dev/null 2>&1 || need+=(chromium)
    # poppler-utils: the atlas's tests read it with pdfinfo, pdftotext, pdffonts and pdftoppm.
    command -v pdftotext >/dev/null 2>&1 || need+=(poppler-utils)
    command -v python3 >/dev/null 2>&1 || need+=(python3)
    python3 -c 'import venv, ensurepip' >/dev/null 2>&1 || need+=(python3-venv)
    # PostgreSQL with PostGIS: the tests start a throwaway cluster of their own (none is set up here).
    local pg
    for pg in $(pg_packages); do need+=("$pg"); done
  fi
  if ((load)); then
    command -v wrk >/dev/null 2>&1 || need+=(wrk)
  fi

  install_packages "${need[@]}"
  if ((e2e)); then
    need=()
    for pg in $(pg_packages); do need+=("$pg"); done
    install_packages "${need[@]}"
    if [ -n "$(pg_packages)" ]; then
      echo "gridplan's tests need PostgreSQL with PostGIS; still missing: $(pg_packages)" >&2
      echo "Run:  sudo apt-get install -y $(pg_packages)" >&2
      exit 1
    fi
  fi

  mapfile -t dirs < <(libclang_dirs)
  if ! has_libclang "${dirs[@]}"; then
    echo "gridplan needs libclang (the C library bindgen loads: libclang.so or libclang-<N>.so) and none was found." >&2
    echo "Run:  sudo apt-get install -y libclang-dev   (or set LIBCLANG_PATH to the directory holding it)" >&2
    exit 1
  fi

  if ((e2e)); then
    gdal_python
  fi

  if ! pkg-config --atleast-version 9.0.0 proj; then
    echo "gridplan needs PROJ 9.0 or newer; pkg-config finds $(pkg-config --modversion proj)." >&2
    echo "On Debian 12 / Ubuntu 22.04+ run: sudo apt-get install -y libproj-dev proj-data" >&2
    exit 1
  fi
}

if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
  main "$@"
fi
