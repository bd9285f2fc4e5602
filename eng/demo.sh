#!/usr/bin/env bash
# The demo: builds the multimodal command-line tool and runs it.
# Until the bundled tiny models land with the model families (issue 6), the demo shows the tool itself:
# its version, its help, and `inspect` on a model folder.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

bash eng/bootstrap.sh
dotnet build src/Multimodal.Cli/Multimodal.Cli.csproj -c Release --no-restore -nologo -v quiet
cli=(dotnet "$root/src/Multimodal.Cli/bin/Release/net10.0/Multimodal.Cli.dll")

echo "\$ multimodal --version"
"${cli[@]}" --version
echo
echo "\$ multimodal --help"
"${cli[@]}" --help
folder=${1:-}
if [ -n "$folder" ]; then
  echo "\$ multimodal inspect $folder"
  "${cli[@]}" inspect "$folder"
fi
