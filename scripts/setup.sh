#!/usr/bin/env bash
# Sets up a checkout on Debian/Ubuntu with Node 20: the desktop packages the xvfb computers need
# and tesseract for the tests (installed only when missing; sudo is used when not root), the npm
# dependencies, the build, and the MCP tools the e2e tests use (test/mcp-tools).
# If the packages cannot be installed, it says so and carries on: the server then explains at start
# which packages are missing, and COMPUTER_PROVIDER=fake works without them.
set -euo pipefail
cd "$(dirname "$0")/.."

# The xvfb provider and its desktops: the minimal one (openbox, xterm) and the standard one (a tint2
# panel, Firefox ESR, Mousepad, PCManFM, MuPDF, xdg-open); pasta and nftables give a desktop its own
# filtered network (COMPUTER_NETWORK=egress); TigerVNC's X0tigervnc serves the live view; ffmpeg
# encodes the sessions' videos (RECORDING=true). The Dockerfile installs the same list.
PACKAGES=(xvfb openbox xterm xauth bubblewrap x11-utils xdotool xclip fonts-dejavu-core passt nftables
  tint2 firefox-esr mousepad pcmanfm mupdf xdg-utils x11-xserver-utils tigervnc-scraping-server ffmpeg)
# Only for the tests: tesseract reads the desktops' screenshots as a person would; Xtigervnc is a
# second real VNC server the live view's RFB filter and bridge are tested against; chromium is the
# real browser the live view's page is tested in (driven by playwright-core); redis-server is the
# real Redis the shared session registry is tested against (tests start their own, on loopback; in
# production REDIS_URL points at a managed or replicated Redis instead).
TEST_PACKAGES=(tesseract-ocr tigervnc-standalone-server chromium redis-server)
missing=()
for p in "${PACKAGES[@]}" "${TEST_PACKAGES[@]}"; do
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

# pasta (COMPUTER_NETWORK=egress) opens /dev/net/tun as an unprivileged user. udev makes it 0666 on
# Debian; machines without udev (some VMs and containers) leave it 0600, and desktops then fall
# back to no network. Do what udev would.
if [ -c /dev/net/tun ] && [ "$(stat -c %a /dev/net/tun)" != "666" ]; then
  if [ "$(id -u)" -eq 0 ]; then chmod 0666 /dev/net/tun; elif command -v sudo >/dev/null; then sudo chmod 0666 /dev/net/tun; fi || true
fi

npm ci --no-audit --no-fund
npm run build

# The MCP tools the e2e tests drive the server with: the official conformance suite and the Inspector's CLI, pinned
# with their lockfile in test/mcp-tools. They need Node 22, which the node package there brings (for them alone; the
# server runs on Node 20). About 30 s from an empty npm cache; skipped while the installed lockfile is the pinned one.
if ! cmp -s test/mcp-tools/package-lock.json test/mcp-tools/node_modules/.installed-lock 2>/dev/null; then
  echo "Installing the MCP test tools (conformance suite, Inspector, Node 22) into test/mcp-tools"
  npm ci --prefix test/mcp-tools --no-audit --no-fund --loglevel=error
  cp test/mcp-tools/package-lock.json test/mcp-tools/node_modules/.installed-lock
fi
