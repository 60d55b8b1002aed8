# Shell helpers shared by Berth's build scripts (sourced, not executed).
# Owns: the cache layout, input keys, logging and atomic installs. Every
# build step keys its cached output by the hash of everything it reads, so a
# clean checkout reuses what an earlier checkout built, and a changed input
# rebuilds only what depends on it.

set -eu

# The checkout: the first parent of the running script holding the pins.
if [ -z "${BERTH_TOP:-}" ]; then
	BERTH_TOP=$(cd "$(dirname "$0")" && pwd)
	while [ ! -f "$BERTH_TOP/rootfs/sources.pins" ]; do
		[ "$BERTH_TOP" != / ] || { echo "${0##*/}: cannot find the Berth checkout" >&2; exit 1; }
		BERTH_TOP=$(dirname "$BERTH_TOP")
	done
fi
: "${BERTH_CACHE:=/var/cache/berth}"
: "${BERTH_OUT:=$BERTH_TOP/out}"
: "${SOURCE_DATE_EPOCH:=1700000000}"
export BERTH_CACHE BERTH_OUT SOURCE_DATE_EPOCH
# BERTH_PINS: another pins file (the benchmarks pin what they compare against).
PINS=${BERTH_PINS:-$BERTH_TOP/rootfs/sources.pins}
JOBS=$(nproc 2>/dev/null || echo 2)

log() {
	printf '%s: %s\n' "${0##*/}" "$*" >&2
}

die() {
	printf '%s: error: %s\n' "${0##*/}" "$*" >&2
	exit 1
}

# pin_field NAME FIELD: the version (2) or kind (3) of a pinned package.
pin_field() {
	awk -v n="$1" -v f="$2" '$1 == n { print $f; exit }' "$PINS"
}

# pin_lines NAME: the pin lines of a package (part of every key built from it).
pin_lines() {
	awk -v n="$1" '$1 == n' "$PINS"
}

# input_key FILE... : a short hash of the named files' contents plus any
# extra text given on stdin. Used to name cached build outputs.
input_key() {
	{
		for f in "$@"; do
			printf '== %s\n' "${f#"$BERTH_TOP"/}"
			cat "$f"
		done
		cat
	} | sha256sum | cut -c1-16
}

# toolchain_id: what the compilers are, so a compiler upgrade rebuilds.
toolchain_id() {
	gcc --version | head -1
	dpkg-query -W -f='${Package} ${Version}\n' musl-dev musl-tools 2>/dev/null || true
}

# src_dir NAME: the unpacked, patched source tree of a pinned package.
src_dir() {
	"$BERTH_TOP/rootfs/fetch" "$1" >&2
	printf '%s/src/%s-%s\n' "$BERTH_CACHE" "$1" "$(pin_field "$1" 2 | tr ':' '_')"
}

# install_if_changed SRC DST: copy only when the content differs, so that
# make sees an unchanged mtime and rebuilds nothing downstream.
install_if_changed() {
	if [ -e "$2" ] && cmp -s "$1" "$2"; then
		return 0
	fi
	mkdir -p "$(dirname "$2")"
	cp -f "$1" "$2.tmp.$$"
	mv -f "$2.tmp.$$" "$2"
}

# with_lock NAME CMD...: serialise builds that share a work tree.
with_lock() {
	_lock=$BERTH_CACHE/locks/$1
	shift
	mkdir -p "$BERTH_CACHE/locks"
	flock "$_lock" "$@"
}

# musl_env: CC and flags for static, hardened musl builds of third-party
# code. _FORTIFY_SOURCE is left out: musl has no __*_chk functions, so it
# would only pretend (Berth's own code gets lib/fortify.h instead).
musl_env() {
	[ -x "$BERTH_OUT/toolchain/cc" ] || "$BERTH_TOP/rootfs/toolchain/setup"
	CC=$BERTH_OUT/toolchain/cc
	HARDEN_CFLAGS="-Os -fPIE -fstack-protector-strong -fstack-clash-protection -fcf-protection -ffunction-sections -fdata-sections"
	HARDEN_LDFLAGS="-static-pie -Wl,-z,relro,-z,now -Wl,--gc-sections -Wl,--build-id=none"
	export CC HARDEN_CFLAGS HARDEN_LDFLAGS
}

# toolchain_key: part of every package key (compiler, musl, specs, headers).
toolchain_key() {
	toolchain_id
	cat "$BERTH_TOP/rootfs/toolchain/musl.specs.in"
	echo "$HARDEN_CFLAGS $HARDEN_LDFLAGS"
	pin_lines linux-source-6.1
}

# pkg_result NAME KEY: where the install tree of a package build is cached.
pkg_result() {
	printf '%s/pkg/%s-%s\n' "$BERTH_CACHE" "$1" "$2"
}
