#!/usr/bin/env bash
# One command from a fresh clone to the main job: installs libcurl's and OpenSSL's headers when
# missing (Debian/Ubuntu; Homebrew's or Xcode's are used on macOS), installs and builds, then
# runs the offline demo (a download and an upload against a loopback server, with progress).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$(uname)" = Linux ]; then
  missing=()
  dpkg -s libcurl4-openssl-dev >/dev/null 2>&1 || missing+=(libcurl4-openssl-dev)
  dpkg -s libssl-dev >/dev/null 2>&1 || missing+=(libssl-dev)
  if [ ${#missing[@]} -gt 0 ]; then
    sudo_cmd=""; [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
    $sudo_cmd apt-get update -qq && $sudo_cmd apt-get install -y -qq "${missing[@]}"
  fi
fi
ELECTRON_SKIP_BINARY_DOWNLOAD=1 npm ci --no-audit --no-fund
npm run demo
