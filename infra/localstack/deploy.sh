#!/usr/bin/env bash
# make localstack-deploy: build template.yaml and deploy it, unchanged, into a running LocalStack with samlocal
# (the SAM CLI with every AWS call sent to LocalStack), then print the API URL and write it to
# .local/localstack.json, where tests/e2e/test_e2e_localstack.py finds it.
#
# Needs: LocalStack running (it runs each Lambda function in a Docker container, so a Docker host, and a plan
# with API Gateway V2 for the HttpApi), samlocal on PATH (`make localstack-deploy` puts .venv-samlocal/bin
# there) and a python3.12 on PATH for `sam build` (the functions' runtime).
# Settings: LOCALSTACK_URL (default http://localhost:4566), STACK_NAME (netremedy), REGION (us-east-1),
# PARAMETER_OVERRIDES (as sam deploy --parameter-overrides, e.g. "JobTtlDays=1 LogLevel=DEBUG").
set -euo pipefail
cd "$(dirname "$0")/../.."

LOCALSTACK_URL="${LOCALSTACK_URL:-http://localhost:4566}"
LOCALSTACK_URL="${LOCALSTACK_URL%/}"
STACK_NAME="${STACK_NAME:-netremedy}"
REGION="${REGION:-us-east-1}"

health="$(curl -sS --max-time 5 -o /dev/null -w '%{http_code}' "$LOCALSTACK_URL/_localstack/health" 2>/dev/null || true)"
if [ "$health" = "000" ] || [ -z "$health" ]; then
    echo "error: LocalStack is not reachable at $LOCALSTACK_URL: start it (it needs Docker) or set LOCALSTACK_URL" >&2
    exit 1
elif [ "$health" != "200" ]; then
    echo "error: $LOCALSTACK_URL answers but is not LocalStack (GET /_localstack/health: HTTP $health; make serve's emulator also uses :4566)" >&2
    exit 1
fi
if ! { python3.12 --version || python3 -c 'import sys; sys.exit(sys.version_info[:2] != (3, 12))'; } >/dev/null 2>&1; then
    echo "error: sam build needs a python3.12 on PATH (the functions' runtime), e.g. PYENV_VERSION=3.11.7:3.12.1" >&2
    exit 1
fi
if ! command -v samlocal >/dev/null; then
    echo "error: samlocal is not on PATH: run 'make localstack-deploy', which installs it into .venv-samlocal/" >&2
    exit 1
fi

# samlocal sends every boto3 client of the SAM CLI to AWS_ENDPOINT_URL (default test credentials if none).
export AWS_ENDPOINT_URL="$LOCALSTACK_URL" AWS_DEFAULT_REGION="$REGION" AWS_REGION="$REGION"
export SAM_CLI_TELEMETRY=0 DISABLE_DEPRECATION_NOTICE=1

samlocal build --template template.yaml
# shellcheck disable=SC2086 # PARAMETER_OVERRIDES is a space-separated list of Name=Value pairs
samlocal deploy --stack-name "$STACK_NAME" --resolve-s3 --no-confirm-changeset --no-fail-on-empty-changeset \
    --capabilities CAPABILITY_IAM --region "$REGION" \
    ${PARAMETER_OVERRIDES:+--parameter-overrides $PARAMETER_OVERRIDES}

outputs="$(samlocal list stack-outputs --stack-name "$STACK_NAME" --region "$REGION" --output json)"
mkdir -p .local
# The ApiUrl output reads https://<api-id>.execute-api.<region>.amazonaws.com as on AWS; LocalStack serves
# that API at http://<api-id>.execute-api.localhost.localstack.cloud:<port> ($default stage: no stage path).
OUTPUTS="$outputs" python3 - "$LOCALSTACK_URL" "$STACK_NAME" "$REGION" <<'EOF'
import json, os, sys
from urllib.parse import urlsplit

localstack, stack_name, region = sys.argv[1:]
outputs = {o["OutputKey"]: o["OutputValue"] for o in json.loads(os.environ["OUTPUTS"])}
if "ApiUrl" not in outputs:
    sys.exit(f"error: stack {stack_name} has no ApiUrl output: {sorted(outputs)}")
api_id = urlsplit(outputs["ApiUrl"]).hostname.split(".")[0]
port = urlsplit(localstack).port or 4566
api_url = f"http://{api_id}.execute-api.localhost.localstack.cloud:{port}"
with open(".local/localstack.json", "w") as out:
    json.dump({"api_url": api_url, "stack_name": stack_name, "region": region, "localstack_url": localstack,
               "outputs": outputs}, out, indent=2)
    out.write("\n")
print(f"netremedy on LocalStack: API on {api_url} (written to .local/localstack.json)")
print(f"run the end-to-end suite against it: make e2e API_URL={api_url}")
EOF
