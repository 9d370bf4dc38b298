#!/usr/bin/env bash
# Install Debian's dataset-fashion-mnist (the complete Fashion-MNIST, ~30 MB, no download from
# the dataset's authors) into /usr/share/datasets/fashion-mnist/, if it is not there yet.
set -euo pipefail
DIR=/usr/share/datasets/fashion-mnist
if [ -f "$DIR/t10k-images-idx3-ubyte.gz" ] && [ -f "$DIR/train-images-idx3-ubyte.gz" ]; then
  echo "Fashion-MNIST: $DIR"; exit 0
fi
if [ "$(id -u)" -eq 0 ]; then SUDO=""; elif command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
  echo "Fashion-MNIST is missing and this user cannot install it; run: apt-get install -y dataset-fashion-mnist" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq dataset-fashion-mnist >/dev/null
ls "$DIR"
