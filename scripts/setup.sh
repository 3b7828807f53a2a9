#!/usr/bin/env bash
# Sets up a checkout on Debian/Ubuntu with Node 20: the desktop packages the xvfb computers need
# (installed only when missing; sudo is used when not root), the npm dependencies, and the build.
# If the packages cannot be installed, it says so and carries on: the server then explains at start
# which packages are missing, and COMPUTER_PROVIDER=fake works without them.
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGES=(xvfb openbox xterm xauth bubblewrap x11-utils xdotool xclip fonts-dejavu-core passt nftables)
missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
  if command -v apt-get >/dev/null && { [ -z "$SUDO" ] || command -v sudo >/dev/null; }; then
    echo "Installing desktop packages: ${missing[*]}"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    echo "warning: cannot install ${missing[*]} (needs apt-get and root or sudo)." >&2
    echo "warning: install them yourself, or run the server with COMPUTER_PROVIDER=fake." >&2
  fi
fi

npm ci --no-audit --no-fund
npm run build
