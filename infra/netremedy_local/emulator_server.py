"""The local AWS emulator: moto's HTTP server with the patches of ``moto_patches`` (speed, isolation and
AWS's data limits) applied in this process only.

Run as ``python -m netremedy_local.emulator_server [moto.server arguments]``. It refuses to start, naming the
patches and the moto version, when the installed moto is not the code the patches were written against.

It starts with IAM not enforced and one administrator, whose access key is the ``testing`` / ``testing``
every local client signs with: once the local stack turns enforcement on (``/moto-api/reset-auth``), those
clients act as that administrator, as a deployer does on AWS, and each function as its own role.
"""

import json
import logging
import os
import sys

from netremedy_local import moto_patches
from netremedy_local.emulator import ADMIN_ACCESS_KEY_ID, ADMIN_SECRET_ACCESS_KEY, ADMIN_USER

_ADMINISTRATOR_ACCESS = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}],
}


# The AWS managed policies SAM attaches to execution roles. moto can load all 1,500 of them
# (MOTO_IAM_LOAD_MANAGED_POLICIES), but then its /moto-api/data.json takes seconds instead of milliseconds.
LAMBDA_MANAGED_POLICIES = (
    "AWSLambdaBasicExecutionRole",
    "AWSLambdaSQSQueueExecutionRole",
    "AWSLambdaVPCAccessExecutionRole",
    "AWSXrayWriteOnlyAccess",
)


def register_administrator() -> None:
    """IAM's API cannot choose an access key's id, so the administrator is made in moto's backend itself;
    with it, the AWS managed policies execution roles use."""
    from moto.core.models import DEFAULT_ACCOUNT_ID  # the local stack's account (template.LOCAL_ACCOUNT_ID)
    from moto.iam.aws_managed_policies import aws_managed_policies_data
    from moto.iam.models import AWSManagedPolicy, iam_backends

    backend = iam_backends[DEFAULT_ACCOUNT_ID]["aws"]
    published = json.loads(aws_managed_policies_data)
    for name in LAMBDA_MANAGED_POLICIES:
        policy = AWSManagedPolicy.from_data(name, DEFAULT_ACCOUNT_ID, backend.region_name, published[name])
        backend.aws_managed_policies.append(policy)
        backend.managed_policies[policy.arn] = policy
    backend.create_user("us-east-1", ADMIN_USER)
    backend.put_user_policy(ADMIN_USER, "AdministratorAccess", json.dumps(_ADMINISTRATOR_ACCESS))
    key = backend.create_access_key(ADMIN_USER)
    del backend.access_keys[key.physical_resource_id]
    key.access_key_id, key.secret_access_key = ADMIN_ACCESS_KEY_ID, ADMIN_SECRET_ACCESS_KEY
    backend.access_keys[key.physical_resource_id] = key


def quiet_request_log() -> None:
    """werkzeug logs a line per request: tens of thousands for a big job, and about 4% of the emulator's CPU
    in the benchmark's medium mix (py-spy). Only its warnings and errors stay, unless
    LOCAL_EMULATOR_ACCESS_LOG=1 asks for every request."""
    if os.environ.get("LOCAL_EMULATOR_ACCESS_LOG") != "1":
        logging.getLogger("werkzeug").setLevel(logging.WARNING)


def main() -> None:
    quiet_request_log()
    try:
        moto_patches.apply()
    except moto_patches.PatchMismatchError as exc:
        print(f"error: {exc}", file=sys.stderr, flush=True)
        sys.exit(1)
    register_administrator()
    from moto.server import main as moto_main

    moto_main()


if __name__ == "__main__":
    main()
