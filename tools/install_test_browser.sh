#!/usr/bin/env bash
# The headless browser the report tests render HTML in: Debian's Chromium and ChromeDriver.
# Does nothing when both are already installed; installs them with apt-get when run as root; otherwise says how.
set -euo pipefail
if command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1; then
  exit 0
fi
if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing chromium and chromium-driver (Debian packages) for the report tests"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null
  exit 0
fi
echo "the report tests need Chromium and ChromeDriver: run 'sudo apt-get install chromium chromium-driver'" \
     "(Debian/Ubuntu) or put chromium and chromedriver on PATH" >&2
exit 1
