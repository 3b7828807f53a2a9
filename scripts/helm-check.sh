#!/usr/bin/env bash
# Checks the Helm chart with helm itself: `helm lint --strict` and `helm template` with each
# helm/<chart>/ci/*-values.yaml, the combinations the chart promises to render. Meant for CI
# machines that have helm; where it is missing it says so and exits 0 (the Jest spec
# test/helm-chart.e2e-spec.ts checks what can be checked without it).
#   bash scripts/helm-check.sh            # every chart under helm/
#   bash scripts/helm-check.sh helm/foo   # one chart
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v helm >/dev/null 2>&1; then
  echo "helm is not installed: skipping helm lint and helm template (install helm 3 to run them)."
  exit 0
fi

charts=("$@")
if ((${#charts[@]} == 0)); then
  for c in helm/*/Chart.yaml; do [ -e "$c" ] && charts+=("$(dirname "$c")"); done
fi
if ((${#charts[@]} == 0)); then
  echo "no chart found under helm/" >&2
  exit 1
fi

# The cluster version templates are rendered for (the chart wants 1.30 or later; helm's built-in
# default may be older).
KUBE_VERSION="${KUBE_VERSION:-1.33.0}"
lint_flags=(--strict)
lint_help="$(helm lint --help 2>&1 || true)"
if [[ $lint_help == *--kube-version* ]]; then lint_flags+=(--kube-version "$KUBE_VERSION"); fi

log="$(mktemp)"
trap 'rm -f "$log"' EXIT
failed=0
for chart in "${charts[@]}"; do
  shopt -s nullglob
  values=("$chart"/ci/*-values.yaml)
  shopt -u nullglob
  if ((${#values[@]} == 0)); then
    echo "FAIL $chart: no ci/*-values.yaml" >&2
    failed=1
    continue
  fi
  for v in "${values[@]}"; do
    name="$(basename "$v" -values.yaml)"
    if helm lint "${lint_flags[@]}" "$chart" -f "$v" >"$log" 2>&1 &&
      helm template "ci-$name" "$chart" -f "$v" --namespace ci --kube-version "$KUBE_VERSION" >"$log" 2>&1; then
      echo "ok   $chart with $v"
    else
      echo "FAIL $chart with $v:" >&2
      cat "$log" >&2
      failed=1
    fi
  done
done
exit "$failed"
