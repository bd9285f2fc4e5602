#!/usr/bin/env bash
# Puts ONNX Runtime 1.30.0 and ONNX Runtime GenAI 0.15.2 (native libraries and C headers) under .tools/native/.
# NuGet's Microsoft.ML.OnnxRuntime(.GenAI) packages are not reachable from this project's machines, so the libraries
# come from npm packages that carry the same builds: onnxruntime-node (libonnxruntime.so.1) and the Unity package
# com.github.asus4.onnxruntime-genai (libonnxruntime-genai.so). The C headers come from the asus4 packages (ORT 1.29
# header, API version 29: a strict subset of the 1.30 library's table). Only the files named below are extracted;
# no C# source from those packages is used. Idempotent.
#
#   bash eng/native/fetch-onnxruntime.sh        # → .tools/native/linux-x64/*.so*, .tools/native/include/*.h
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
out="$root/.tools/native"
lib="$out/linux-x64"
inc="$out/include"
ORT_SHA256=ffb75a925ba05e47b235bb66e3e3911714a80b328a9c9425539feb204aa32a23

ORT_HEADERS=(onnxruntime_c_api.h onnxruntime_error_code.h onnxruntime_ep_c_api.h)
have() {
  [ -f "$lib/libonnxruntime.so.1" ] && [ -f "$lib/libonnxruntime-genai.so" ] && [ -f "$inc/ort_genai_c.h" ] || return 1
  for h in "${ORT_HEADERS[@]}"; do [ -f "$inc/$h" ] || return 1; done
}
if have; then exit 0; fi
[ "$(uname -m)" = x86_64 ] || { echo "fetch-onnxruntime: only linux-x64 is scripted here (found $(uname -m))." >&2; exit 1; }
command -v npm >/dev/null || { echo "fetch-onnxruntime: npm is required (apt-get install nodejs npm)." >&2; exit 1; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$lib" "$inc"
echo "fetch-onnxruntime: downloading onnxruntime-node 1.30.0 and the asus4 ONNX Runtime / GenAI 0.4.9 packages from npm"
(cd "$tmp" && npm pack --silent onnxruntime-node@1.30.0 com.github.asus4.onnxruntime-genai@0.4.9 com.github.asus4.onnxruntime@0.4.9 2>&1 \
  | grep -v 'Unknown user config' >/dev/null || true)
for f in onnxruntime-node-1.30.0.tgz com.github.asus4.onnxruntime-genai-0.4.9.tgz com.github.asus4.onnxruntime-0.4.9.tgz; do
  [ -f "$tmp/$f" ] || { echo "fetch-onnxruntime: npm did not produce $f." >&2; exit 1; }
done

tar xzf "$tmp/onnxruntime-node-1.30.0.tgz" -C "$tmp" package/bin/napi-v6/linux/x64/libonnxruntime.so.1
echo "$ORT_SHA256  $tmp/package/bin/napi-v6/linux/x64/libonnxruntime.so.1" | sha256sum -c --quiet - \
  || { echo "fetch-onnxruntime: libonnxruntime.so.1 does not have the expected sha256." >&2; exit 1; }
install -m 0644 "$tmp/package/bin/napi-v6/linux/x64/libonnxruntime.so.1" "$lib/libonnxruntime.so.1"
ln -sf libonnxruntime.so.1 "$lib/libonnxruntime.so"

genai_h='package/Plugins/iOS~/onnxruntime-genai.xcframework/ios-arm64_x86_64-simulator/onnxruntime-genai.framework/Headers'
tar xzf "$tmp/com.github.asus4.onnxruntime-genai-0.4.9.tgz" -C "$tmp" package/Plugins/Linux/x64/libonnxruntime-genai.so "$genai_h/ort_genai_c.h"
install -m 0644 "$tmp/package/Plugins/Linux/x64/libonnxruntime-genai.so" "$lib/libonnxruntime-genai.so"
install -m 0644 "$tmp/$genai_h/ort_genai_c.h" "$inc/ort_genai_c.h"

ort_h='package/Plugins/iOS~/onnxruntime.xcframework/ios-arm64_x86_64-simulator/onnxruntime.framework/Headers'
tar xzf "$tmp/com.github.asus4.onnxruntime-0.4.9.tgz" -C "$tmp" "${ORT_HEADERS[@]/#/$ort_h/}"
for h in "${ORT_HEADERS[@]}"; do install -m 0644 "$tmp/$ort_h/$h" "$inc/$h"; done
have && echo "fetch-onnxruntime: done ($lib)"
