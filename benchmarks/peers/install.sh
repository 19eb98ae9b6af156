#!/usr/bin/env bash
# Install the peer benchmarking tools, each into its own virtual environment
# under benchmarks/.peers/<tool>, never into prober's. PyPI only.
#
#   benchmarks/peers/install.sh            # every peer tool
#   benchmarks/peers/install.sh guidellm   # one of them
#
# A tool that fails to install is reported and skipped; the fidelity
# benchmark then lists it as not installed, with the reason from
# benchmarks/.peers/<tool>/install.log.
set -uo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
declare -A PACKAGES=(
    [guidellm]="guidellm"
    [aiperf]="aiperf"
)
tools=("$@")
((${#tools[@]})) || tools=(guidellm aiperf)

status=0
for tool in "${tools[@]}"; do
    home=.peers/$tool
    mkdir -p "$home"
    echo "==> $tool into benchmarks/$home"
    if "$PYTHON" -m venv "$home/venv" >"$home/install.log" 2>&1 \
        && "$home/venv/bin/pip" install --disable-pip-version-check \
            "${PACKAGES[$tool]}" >>"$home/install.log" 2>&1; then
        "$home/venv/bin/pip" show "${PACKAGES[$tool]}" | sed -n 's/^Version: //p' \
            >"$home/version"
        echo "    installed $(cat "$home/version")"
    else
        echo "    FAILED, see benchmarks/$home/install.log"
        rm -f "$home/version"
        status=1
    fi
done
exit $status
