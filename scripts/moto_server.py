"""The sandbox's Secrets Manager emulator: moto server (pinned in lib.sh), with one rule made
to work as the real service does.

PutSecretValue with a ClientRequestToken whose version already holds a value: the service
accepts the same value again (and changes nothing) and refuses a different one with
ResourceExistsException, so a version's value never changes. moto lets an AWSPENDING version
be overwritten. createSecret relies on the service's rule (it writes first and adopts the
stored value when the write is refused), so the tests and benchmarks run against the rule.
A version RotateSecret created (AWSPENDING, no value yet) still takes its first value.

    python scripts/moto_server.py -H 127.0.0.1 -p PORT     (the arguments of moto_server)
"""
import sys
import threading

from moto.secretsmanager import models
from moto.secretsmanager.exceptions import ResourceExistsException
from moto.server import main

_lock = threading.RLock()
_check = models.SecretsManagerBackend._check_with_existing_secrets_and_versions
_put = models.SecretsManagerBackend.put_secret_value


def _has_value(version):
    return version.get("secret_string") is not None or version.get("secret_binary") is not None


def _check_like_the_service(self, secret_name, client_request_token, secret_string,
                            secret_binary, on_create=False):
    secret = self.secrets[secret_name] if secret_name in self.secrets.keys() else None
    version = getattr(secret, "versions", {}).get(client_request_token) if client_request_token else None
    if version and _has_value(version):
        if version.get("secret_string") == secret_string and version.get("secret_binary") == secret_binary:
            return secret
        raise ResourceExistsException(
            f"You can't use ClientRequestToken {client_request_token} because that value is "
            f"already in use for a version of secret {secret.arn}.")
    return _check(self, secret_name, client_request_token, secret_string, secret_binary, on_create)


def _put_one_at_a_time(self, *args, **kwargs):
    # moto serves requests on threads: check and write under one lock, as one request.
    with _lock:
        return _put(self, *args, **kwargs)


models.SecretsManagerBackend._check_with_existing_secrets_and_versions = _check_like_the_service
models.SecretsManagerBackend.put_secret_value = _put_one_at_a_time

if __name__ == "__main__":
    sys.exit(main())
