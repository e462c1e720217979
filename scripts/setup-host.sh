#!/usr/bin/env bash
# Installs the host packages machina's tests use: QEMU, OVMF, swtpm, busybox (tiny test guest),
# systemd and D-Bus (end-to-end tests under a sandboxed systemd), iproute2 (bridges and taps),
# bash-completion, zsh and fish (completion tests drive the three shells), chromium (the web UI's
# browser tests, driven by playwright-core).
set -euo pipefail
need=(qemu-system-x86 qemu-utils ovmf swtpm swtpm-tools busybox-static dbus systemd iproute2 bash-completion zsh fish chromium)
missing=()
for p in "${need[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then echo "setup-host: run as root to install: ${missing[*]}" >&2; exit 1; fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${missing[@]}" >/dev/null
fi
