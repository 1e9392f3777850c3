#!/usr/bin/env bash
# make localstack-deploy: build template.yaml and deploy it, unchanged, into a running LocalStack (its free
# plan is enough: the API is a REST API, API Gateway v1), then print the API URL and write it to
# .local/localstack.json, where tests/e2e/test_e2e_localstack.py finds it. The package is built by
# infra/build_lambda_package.py (as make build does: the runtime's wheels for the chosen architecture, no
# python3.12 needed) into .aws-sam/build/, which samlocal (the SAM CLI with every AWS call sent to
# LocalStack) deploys.
#
# Needs: LocalStack running (it runs each Lambda function in a Docker container, so a Docker host; its image
# needs a LOCALSTACK_AUTH_TOKEN, free with an account), samlocal on PATH and a Python with pip, PyYAML and
# aws-sam-translator for the build (`make localstack-deploy` provides both from .venv-samlocal/).
# Settings: LOCALSTACK_URL (default http://localhost:4566), STACK_NAME (netremedy), REGION (us-east-1),
# ARCHITECTURE (the functions' instruction set; default: this host's, from uname -m, so that LocalStack runs
# them without emulation), PARAMETER_OVERRIDES (as sam deploy --parameter-overrides, e.g.
# "JobTtlDays=1 LogLevel=DEBUG"; an Architecture=... there wins over ARCHITECTURE), PYTHON (the build's
# interpreter; default python3), RUNTIME_PYTHON (as for make build: a python3.12 to compile the bytecode).
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
PYTHON="${PYTHON:-python3}"
if ! "$PYTHON" -c 'import pip, samtranslator, yaml' >/dev/null 2>&1; then
    echo "error: $PYTHON lacks pip, PyYAML or aws-sam-translator, which the build needs:" \
        "run 'make localstack-deploy' (.venv-samlocal/ has them) or set PYTHON" >&2
    exit 1
fi
if ! command -v samlocal >/dev/null; then
    echo "error: samlocal is not on PATH: run 'make localstack-deploy', which installs it into .venv-samlocal/" >&2
    exit 1
fi

# The functions' instruction set: LocalStack runs them in containers of the Docker host's, so the host's
# (this machine's, from uname -m) unless ARCHITECTURE or an Architecture=... override says otherwise. The
# build needs it too: it picks the wheels (pydantic-core is compiled) for that architecture.
overrides="${PARAMETER_OVERRIDES:-}"
case " $overrides " in
    *" Architecture="*)
        architecture=" $overrides"
        architecture="${architecture##* Architecture=}"
        ARCHITECTURE="${architecture%% *}"
        ;;
    *)
        if [ -z "${ARCHITECTURE:-}" ]; then
            case "$(uname -m)" in
                x86_64 | amd64) ARCHITECTURE=x86_64 ;;
                aarch64 | arm64) ARCHITECTURE=arm64 ;;
                *)
                    echo "error: no Lambda architecture for this host ($(uname -m)): set ARCHITECTURE=x86_64 or arm64" >&2
                    exit 1
                    ;;
            esac
        fi
        overrides="Architecture=$ARCHITECTURE${overrides:+ $overrides}"
        ;;
esac
if [ "$ARCHITECTURE" != x86_64 ] && [ "$ARCHITECTURE" != arm64 ]; then
    echo "error: Architecture=$ARCHITECTURE: Lambda runs x86_64 or arm64" >&2
    exit 1
fi
echo "parameters: $overrides"

# samlocal sends every boto3 client of the SAM CLI to AWS_ENDPOINT_URL (default test credentials if none).
export AWS_ENDPOINT_URL="$LOCALSTACK_URL" AWS_DEFAULT_REGION="$REGION" AWS_REGION="$REGION"
export SAM_CLI_TELEMETRY=0 DISABLE_DEPRECATION_NOTICE=1

# The built template allows only the package's architecture, so the deploy's Architecture must be the same.
"$PYTHON" infra/build_lambda_package.py --template template.yaml --architecture "$ARCHITECTURE" \
    ${RUNTIME_PYTHON:+--runtime-python "$RUNTIME_PYTHON"}
# shellcheck disable=SC2086 # the overrides are a space-separated list of Name=Value pairs
samlocal deploy --stack-name "$STACK_NAME" --resolve-s3 --no-confirm-changeset --no-fail-on-empty-changeset \
    --capabilities CAPABILITY_IAM --region "$REGION" --parameter-overrides $overrides

outputs="$(samlocal list stack-outputs --stack-name "$STACK_NAME" --region "$REGION" --output json)"
mkdir -p .local
# The ApiUrl output reads https://<api-id>.execute-api.<region>.amazonaws.com/<stage> as on AWS; LocalStack
# serves that stage at http://<api-id>.execute-api.localhost.localstack.cloud:<port>/<stage>.
OUTPUTS="$outputs" "$PYTHON" - "$LOCALSTACK_URL" "$STACK_NAME" "$REGION" <<'EOF'
import json, os, sys
from urllib.parse import urlsplit

localstack, stack_name, region = sys.argv[1:]
outputs = {o["OutputKey"]: o["OutputValue"] for o in json.loads(os.environ["OUTPUTS"])}
if "ApiUrl" not in outputs:
    sys.exit(f"error: stack {stack_name} has no ApiUrl output: {sorted(outputs)}")
deployed = urlsplit(outputs["ApiUrl"])
api_id, stage = deployed.hostname.split(".")[0], deployed.path.rstrip("/")
port = urlsplit(localstack).port or 4566
api_url = f"http://{api_id}.execute-api.localhost.localstack.cloud:{port}{stage}"
with open(".local/localstack.json", "w") as out:
    json.dump({"api_url": api_url, "stack_name": stack_name, "region": region, "localstack_url": localstack,
               "outputs": outputs}, out, indent=2)
    out.write("\n")
print(f"netremedy on LocalStack: API on {api_url} (written to .local/localstack.json)")
print(f"run the end-to-end suite against it: make e2e API_URL={api_url}")
EOF
