#!/usr/bin/env bash
# Installs RSSHub 1.0.0 from npm for the tests that run against a real RSSHub on loopback.
# Outside the package: $JIANDU_RSSHUB_DIR, default $HOME/.cache/jiandu-rsshub. Installing twice
# does nothing. Never fails the caller: without Node/npm or the registry it says why and exits 0,
# and the RSSHub tests skip with that reason.
set -uo pipefail
dir="${JIANDU_RSSHUB_DIR:-$HOME/.cache/jiandu-rsshub}"
entry="$dir/node_modules/rsshub/lib/index.js"
if [ -f "$entry" ]; then
  echo "rsshub: already installed in $dir"
  exit 0
fi
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  echo "rsshub: node/npm not found; the RSSHub tests will skip"
  exit 0
fi
mkdir -p "$dir"
# mercury-parser pulls difflib and browser-request from git, which an offline registry cannot
# serve; these released versions stand in for them.
cat > "$dir/package.json" <<'JSON'
{
  "name": "jiandu-rsshub-test",
  "private": true,
  "overrides": {"difflib": "0.2.4", "browser-request": "0.3.3"}
}
JSON
echo "rsshub: installing rsshub@1.0.0 into $dir (about a minute)"
if (cd "$dir" && PUPPETEER_SKIP_DOWNLOAD=1 npm install --no-audit --no-fund --loglevel=error rsshub@1.0.0 >"$dir/install.log" 2>&1); then
  echo "rsshub: installed"
else
  echo "rsshub: npm install failed (see $dir/install.log); the RSSHub tests will skip"
fi
exit 0
