#!/usr/bin/env bash
# The demo: builds the multimodal command-line tool and asks the bundled tiny LLaVA model about a committed scene.
#   ./eng/demo.sh                                     # the README demo (managed backend)
#   ./eng/demo.sh <model> <image> "q"                 # another bundled model, image or question
#   ./eng/demo.sh --backend onnxruntime               # options after the positional ones go to 'multimodal ask'
#   ./eng/demo.sh <model> <image> "q" --backend onnxruntime-genai --json
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

bash eng/bootstrap.sh
dotnet build src/Multimodal.Cli/Multimodal.Cli.csproj -c Release --no-restore -nologo -v quiet
cli=(dotnet "$root/src/Multimodal.Cli/bin/Release/net10.0/Multimodal.Cli.dll")

# The ONNX Runtime (GenAI) libraries that bootstrap fetched, for --backend onnxruntime / onnxruntime-genai.
native="$root/.tools/native/linux-x64"
if [ -d "$native" ] && [ -z "${MULTIMODAL_NATIVE_DIR:-}" ]; then
  export MULTIMODAL_NATIVE_DIR="$native"
fi

# Up to three positional arguments (model, image, question); the first argument starting with -- begins the options.
positional=()
while [ $# -gt 0 ] && [ "${#positional[@]}" -lt 3 ] && [[ "$1" != --* ]]; do
  positional+=("$1")
  shift
done
model=${positional[0]:-models/llava-tiny}
image=${positional[1]:-samples/red-circle.png}
question=${positional[2]:-What shape is in the image?}
echo "\$ multimodal ask --model $model --image $image \"$question\"${*:+ $*}"
"${cli[@]}" ask --model "$model" --image "$image" "$question" "$@"
