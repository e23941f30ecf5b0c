#!/usr/bin/env bash
# Makes sure the servers the test suite starts privately are installed:
# redis-server and redis-cli (Debian packages redis-server, redis-tools) and
# mosquitto (Debian package mosquitto), gcc, which `go test -race` needs
# (cgo), and /usr/bin/chromium (Debian package chromium), the headless browser
# of the web page tests (cmd/parkd/browser_test.go). Quiet and quick when
# they are there (with Chromium comes fonts-wqy-microhei, a Chinese font).
# PARKD_SKIP_BROWSER=1 leaves Chromium out (the browser tests then skip
# themselves).
# As root it installs what is missing with apt-get; otherwise it prints the
# command to run and exits 1. Installing may start the packages' system
# services on 6379 and 1883: harmless, the tests never use those ports.
set -euo pipefail

# have NAME: is the program on PATH or in the usual system folders?
# (Debian puts mosquitto in /usr/sbin, which is not always on PATH.)
have() {
	command -v "$1" >/dev/null 2>&1 && return 0
	local d
	for d in /usr/sbin /usr/bin /usr/local/sbin /usr/local/bin /sbin /bin; do
		[ -x "$d/$1" ] && return 0
	done
	return 1
}

missing=()
have redis-server || missing+=(redis-server)
have redis-cli || missing+=(redis-tools)
have mosquitto || missing+=(mosquitto)
have gcc || missing+=(gcc)
# With Chromium comes a Chinese font, so the screenshots show the pages'
# Chinese text (Debian's chromium package pulls in none).
if [ "${PARKD_SKIP_BROWSER:-}" != 1 ]; then
	[ -x /usr/bin/chromium ] || missing+=(chromium)
	[ -e /usr/share/fonts/truetype/wqy/wqy-microhei.ttc ] || missing+=(fonts-wqy-microhei)
fi
[ ${#missing[@]} -eq 0 ] && exit 0

cmd="apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y ${missing[*]}"
if [ "$(id -u)" -ne 0 ]; then
	echo "install-deps: missing Debian packages: ${missing[*]}" >&2
	echo "install-deps: run as root:  $cmd" >&2
	echo "install-deps: (or with sudo: sudo sh -c '$cmd')" >&2
	exit 1
fi

echo "install-deps: installing ${missing[*]} from Debian's packages" >&2
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null

for p in redis-server redis-cli mosquitto gcc; do
	have "$p" || { echo "install-deps: $p still missing after apt-get install" >&2; exit 1; }
done
if [[ " ${missing[*]} " == *" chromium "* ]] && [ ! -x /usr/bin/chromium ]; then
	echo "install-deps: /usr/bin/chromium still missing after apt-get install chromium" >&2
	exit 1
fi
echo "install-deps: done" >&2
