"""The sandbox's AWS emulator: moto server (pinned in lib.sh), with one Secrets Manager rule made
to work as the real service does, and ElastiCache's ModifyUser, which moto lacks.

PutSecretValue with a ClientRequestToken whose version already holds a value: the service
accepts the same value again (and changes nothing) and refuses a different one with
ResourceExistsException, so a version's value never changes. moto lets an AWSPENDING version
be overwritten. createSecret relies on the service's rule (it writes first and adopts the
stored value when the write is refused), so the tests and benchmarks run against the rule.
A version RotateSecret created (AWSPENDING, no value yet) still takes its first value.

ElastiCache ModifyUser (Passwords only, as the rotation function calls it), as the service
answers it: UserNotFound for an unknown user; InvalidUserState unless the user is active; one or
two passwords, each 16 to 128 printable characters without @, " or / (InvalidParameterValue);
the passwords replace the user's, and the user is "modifying" for
SANDBOX_ELASTICACHE_MODIFY_SECONDS (default 0.3) before it is "active" again. CreateUser and
ModifyUser mirror the user into the sandbox Redis (SANDBOX_REDIS_ADMIN_PORT, password
SANDBOX_REDIS_ADMIN_PASSWORD) as an ACL user with exactly those passwords, so a client's AUTH
against Redis answers as the cache would. A modification reaches Redis when it completes (the
user "active" again), not when ModifyUser answers: a caller that does not wait sees the old
passwords, as on the service.

    python scripts/moto_server.py -H 127.0.0.1 -p PORT     (the arguments of moto_server)
"""
import os
import socket
import sys
import threading

from moto.secretsmanager import models
from moto.secretsmanager.exceptions import ResourceExistsException
from moto.elasticache import models as ec_models
from moto.elasticache import responses as ec_responses
from moto.elasticache.exceptions import ElastiCacheException, InvalidParameterValueException, UserNotFound
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

class InvalidUserState(ElastiCacheException):
    code = "InvalidUserState"


def _resp(*parts):
    out = f"*{len(parts)}\r\n".encode()
    for p in parts:
        b = p.encode()
        out += f"${len(b)}\r\n".encode() + b + b"\r\n"
    return out


def _redis(*commands):
    """Runs `commands` on the sandbox Redis as its admin; no-op without one configured."""
    port = os.environ.get("SANDBOX_REDIS_ADMIN_PORT")
    if not port:
        return
    with socket.create_connection(("127.0.0.1", int(port)), timeout=5) as s:
        stream = s.makefile("rb")
        for command in (("AUTH", os.environ["SANDBOX_REDIS_ADMIN_PASSWORD"]),) + commands:
            s.sendall(_resp(*command))
            line = stream.readline()
            if not line.startswith(b"+"):
                raise RuntimeError(f"redis refused {command[0]}: {line[:80]!r}")


def _mirror(user):
    """The Redis ACL user for an ElastiCache user: its name and exactly its passwords."""
    rule = ["ACL", "SETUSER", user.name, "reset", "on", "~*", "&*", "+@all"]
    rule += [">" + p for p in user.passwords]
    if not user.passwords:
        rule[4] = "off"
    _redis(tuple(rule))


_create_user = ec_models.ElastiCacheBackend.create_user


def _create_user_mirrored(self, *args, **kwargs):
    user = _create_user(self, *args, **kwargs)
    _mirror(user)
    return user


def _valid_password(p):
    return 16 <= len(p) <= 128 and all(32 < ord(c) < 127 and c not in '@"/' for c in p)


def _modify_user(self, user_id, passwords):
    with _lock:
        if user_id not in self.users:
            raise UserNotFound(user_id)
        user = self.users[user_id]
        if user.status != "active":
            raise InvalidUserState(f"User {user_id} is not in active state.")
        if not passwords or len(passwords) > 2:
            raise InvalidParameterValueException("A user can have at most two passwords.")
        if not all(_valid_password(p) for p in passwords):
            raise InvalidParameterValueException(
                "Passwords length must be between 16-128 characters, printable, without @, \" or /.")
        user.passwords = list(passwords)
        user.authentication_type = "password"
        user.no_password_required = False
        user.status = "modifying"

    def settle():
        # The new passwords take effect on the cache when the modification completes.
        _mirror(user)
        with _lock:
            user.status = "active"

    timer = threading.Timer(float(os.environ.get("SANDBOX_ELASTICACHE_MODIFY_SECONDS", "0.3")), settle)
    timer.daemon = True
    timer.start()
    return user


def _modify_user_response(self):
    params = self._get_params()
    user = self.elasticache_backend.modify_user(params.get("UserId"), params.get("Passwords", []))
    return ec_responses.ActionResult(user)


ec_models.ElastiCacheBackend.create_user = _create_user_mirrored
ec_models.ElastiCacheBackend.modify_user = _modify_user
ec_responses.ElastiCacheResponse.modify_user = _modify_user_response

if __name__ == "__main__":
    sys.exit(main())
