#!/usr/bin/env bash
# The test command: bootstrap, build the whole solution (warnings are errors), run every test project.
# Ends with one summary line "N passed, N failed, N skipped".
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

bash eng/bootstrap.sh
dotnet build Multimodal.Core.sln -c Release --no-restore -nologo
# The packages must keep packing (metadata from nuget/Multimodal.Package.props, READMEs, the CLI as a tool).
dotnet pack Multimodal.Core.sln -c Release --no-build -nologo -o "$root/nuget/packages" -v quiet

log=$(mktemp)
trap 'rm -f "$log"' EXIT
set +e
dotnet test Multimodal.Core.sln -c Release --no-build -nologo 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e

# Sum the per-assembly result lines ("Passed!  - Failed: 0, Passed: 100, Skipped: 0, ...").
awk '
  /(Passed|Failed)! +- +Failed:/ {
    for (i = 1; i <= NF; i++) {
      if ($i == "Failed:")  { f += $(i+1) + 0 }
      if ($i == "Passed:")  { p += $(i+1) + 0 }
      if ($i == "Skipped:") { s += $(i+1) + 0 }
    }
    n++
  }
  END {
    if (n == 0) { print "0 passed, 0 failed (no test results found)"; exit 1 }
    printf "%d passed, %d failed, %d skipped\n", p, f, s
    if (f > 0 || s > 0) exit 1
  }' "$log" || status=1
exit "$status"
