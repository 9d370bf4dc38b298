#!/usr/bin/env bash
# Install Debian's dataset-fashion-mnist (the complete Fashion-MNIST, ~30 MB, no download from
# the dataset's authors) into /usr/share/datasets/fashion-mnist/, if it is not there yet.
#
#   ensure_fashion_mnist.sh                 install it (as root, or through sudo, which may ask
#                                           for a password); fail if that is impossible
#   ensure_fashion_mnist.sh --best-effort   the same, but never prompt and never fail: as root
#                                           or with password-less sudo (`sudo -n`) only; otherwise,
#                                           or when apt-get fails, print one line saying how to
#                                           install it and exit 0 (`make book` uses this: chapters 3
#                                           and 8 then use the embedded digits instead)
set -euo pipefail
BEST_EFFORT=0
case "${1:-}" in
  "") ;;
  --best-effort) BEST_EFFORT=1 ;;
  *) echo "usage: $0 [--best-effort]" >&2; exit 2 ;;
esac
DIR=/usr/share/datasets/fashion-mnist
HOW="apt-get install -y dataset-fashion-mnist (as root), or make data"
have() {
  for f in train-images-idx3-ubyte train-labels-idx1-ubyte t10k-images-idx3-ubyte t10k-labels-idx1-ubyte; do
    [ -f "$DIR/$f.gz" ] || return 1
  done
}
if have; then
  echo "Fashion-MNIST: $DIR"; exit 0
fi
skip() {  # best effort: one line, and carry on
  echo "Fashion-MNIST is not installed ($1); chapters 3 and 8 use the embedded digits instead. To install it: $HOW"
  exit 0
}
if ! command -v apt-get >/dev/null 2>&1; then
  [ "$BEST_EFFORT" -eq 1 ] && skip "no apt-get on this machine"
  echo "Fashion-MNIST is missing and this machine has no apt-get; put torchvision's FashionMNIST/raw files under \$ADVLAB_DATA" >&2
  exit 1
fi
if [ "$(id -u)" -eq 0 ]; then
  SUDO=""
elif [ "$BEST_EFFORT" -eq 1 ]; then
  if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then SUDO="sudo -n"; else
    skip "installing it needs root, and sudo would ask for a password"
  fi
elif command -v sudo >/dev/null 2>&1; then
  SUDO="sudo"
else
  echo "Fashion-MNIST is missing and this user cannot install it; run: $HOW" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
if [ "$BEST_EFFORT" -eq 1 ]; then
  if ! { $SUDO apt-get update -qq && $SUDO apt-get install -y -qq dataset-fashion-mnist; } >/dev/null 2>&1 || ! have; then
    skip "apt-get could not install dataset-fashion-mnist"
  fi
else
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq dataset-fashion-mnist >/dev/null
fi
echo "Fashion-MNIST: installed in $DIR"
