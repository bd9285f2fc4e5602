#!/usr/bin/env bash
# The demo: builds the multimodal command-line tool and asks the bundled tiny LLaVA model about a committed scene.
#   ./eng/demo.sh                      # the README demo
#   ./eng/demo.sh <model> <image> "q"  # another bundled model, image or question
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

bash eng/bootstrap.sh
dotnet build src/Multimodal.Cli/Multimodal.Cli.csproj -c Release --no-restore -nologo -v quiet
cli=(dotnet "$root/src/Multimodal.Cli/bin/Release/net10.0/Multimodal.Cli.dll")

model=${1:-models/llava-tiny}
image=${2:-samples/red-circle.png}
question=${3:-What shape is in the image?}
echo "\$ multimodal ask --model $model --image $image \"$question\""
"${cli[@]}" ask --model "$model" --image "$image" "$question"
