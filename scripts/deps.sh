#!/usr/bin/env bash
# Installs what building and running needs on Debian: a C compiler for cgo
# (SQLite), OpenBLAS, and Fashion-MNIST (the image stand-in's data, from
# Debian's dataset-fashion-mnist); with the argument "test" also Chromium,
# which the viewer's browser test drives. Skips whatever is already there.
set -euo pipefail
need=()
command -v gcc >/dev/null 2>&1 || need+=(gcc libc6-dev)
dpkg -s libopenblas-dev >/dev/null 2>&1 || need+=(libopenblas-dev)
if [ "${1:-}" = test ]; then
	command -v chromium >/dev/null 2>&1 || need+=(chromium)
fi
[ -n "${VAEBM_FASHION_DIR:-}" ] || [ -e /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz ] || need+=(dataset-fashion-mnist)
if ((${#need[@]})); then
	sudo=""
	[ "$(id -u)" -eq 0 ] || sudo="sudo"
	echo "installing ${need[*]}" >&2
	$sudo apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${need[@]}" >/dev/null
fi
go mod download
