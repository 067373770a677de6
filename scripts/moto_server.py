"""The sandbox's AWS emulator: moto server (pinned in lib.sh), with one Secrets Manager rule made
to work as the real service does, and ElastiCache's ModifyUser, which moto lacks.

PutSecretValue with a ClientRequestToken whose version already holds a value: the service
accepts the same value again (and changes nothing) and refuses a different one with
ResourceExistsException, so a version's value never changes. moto lets an AWSPENDING version
be overwritten. createSecret relies on the service's rule (it writes first and adopts the
stored value when the write is refused), so the tests and benchmarks run against the rule.
A version RotateSecret created (AWSPENDING, no value yet) still takes its first value.

ElastiCache ModifyUser, which moto lacks, as the service answers it for the fields modelled
here (UserId and Passwords, all the rotation function sends): UserNotFound for an unknown user;
InvalidUserState unless the user is active; one or two passwords, each allowed by the documented
rule in scripts/elasticache_password_rule.json (16 to 128 printable characters, none of , " / @;
the file cites the ElastiCache pages it comes from, and is read here, never derived from the
function), else InvalidParameterValue; the passwords replace the user's, and the user is
"modifying" for SANDBOX_ELASTICACHE_MODIFY_SECONDS (default 0.3) before it is "active" again.
Any other field of the API's ModifyUser (AccessString, AppendAccessString, NoPasswordRequired,
AuthenticationMode, Engine, or one the API lacks) is refused with NotModeledByTheSandbox, never
accepted and ignored. Every ModifyUser request is recorded (its field names, how many passwords,
the error code; never a password) and served as JSON to loopback clients at
GET /moto-api/sandbox/elasticache/modify-user?user_id=ID, so a test sees exactly what a caller
sent. CreateUser and ModifyUser mirror the user into the sandbox Redis (SANDBOX_REDIS_ADMIN_PORT,
password SANDBOX_REDIS_ADMIN_PASSWORD) as an ACL user with exactly those passwords, so a
client's AUTH against Redis answers as the cache would; DeleteUser removes it (and is refused
while the user is modifying). A modification reaches Redis when it completes (the user "active"
again), not when ModifyUser answers: a caller that does not wait sees the old passwords, as on
the service. User groups (CreateUserGroup, DescribeUserGroups, ModifyUserGroup with
UserIdsToAdd/UserIdsToRemove, DeleteUserGroup; "modifying" for the same time after a change)
exist for scripts/elasticache_calibrate.py; membership does not change what the sandbox Redis
accepts (every user is mirrored into it).

    python scripts/moto_server.py -H 127.0.0.1 -p PORT     (the arguments of moto_server)
"""
import json
import os
import re
import socket
import sys
import threading
from urllib.parse import parse_qs, urlparse

from moto.secretsmanager import models
from moto.secretsmanager.exceptions import ResourceExistsException
from moto.elasticache import models as ec_models
from moto.elasticache import responses as ec_responses
from moto.elasticache.exceptions import ElastiCacheException, InvalidParameterValueException, UserNotFound
from moto.moto_api._internal import urls as moto_api_urls
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


class InvalidUserGroupState(ElastiCacheException):
    code = "InvalidUserGroupState"


class UserGroupNotFound(ElastiCacheException):
    code = "UserGroupNotFound"


class UserGroupAlreadyExists(ElastiCacheException):
    code = "UserGroupAlreadyExists"


class NotModeledByTheSandbox(ElastiCacheException):
    """A request field this stand-in does not model: refused, never accepted and ignored."""
    code = "NotModeledByTheSandbox"


# The documented password rule (the file cites the pages), read once: not the function's rule.
with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "elasticache_password_rule.json")) as f:
    PASSWORD_RULE = json.load(f)

# What each ModifyUser request carried, per UserId, in arrival order: the fields' names (list
# members as one field, nested members as Parent.Member), how many passwords, and the answer.
# Password values are never kept. Read through GET /moto-api/sandbox/elasticache/modify-user.
_modify_user_calls = {}

# The fields of each action this stand-in models; any other field is refused.
_MODELED = {
    "ModifyUser": {"UserId", "Passwords"},
    "CreateUserGroup": {"UserGroupId", "Engine", "UserIds"},
    "ModifyUserGroup": {"UserGroupId", "UserIdsToAdd", "UserIdsToRemove"},
    "DescribeUserGroups": {"UserGroupId"},
    "DeleteUserGroup": {"UserGroupId"},
}


def _fields(response):
    """The request's field names as sent: `Passwords.member.2` is `Passwords`,
    `AuthenticationMode.Passwords.member.1` is `AuthenticationMode.Passwords`."""
    names = set()
    for key in response.querystring:
        if key in ("Action", "Version"):
            continue
        names.add(re.sub(r"\.member\.\d+", "", key))
    return sorted(names)


def _refuse_unmodeled(action, fields):
    unmodeled = [f for f in fields if f not in _MODELED[action]]
    if unmodeled:
        raise NotModeledByTheSandbox(
            f"the sandbox's {action} does not model {', '.join(unmodeled)} (scripts/moto_server.py "
            f"models {', '.join(sorted(_MODELED[action]))}); it refuses the request rather than "
            "ignore a field the service would act on")


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
            if not (line.startswith(b"+") or line.startswith(b":")):
                raise RuntimeError(f"redis refused {command[0]}: {line[:80]!r}")


def _mirror(user):
    """The Redis ACL user for an ElastiCache user: its name and exactly its passwords."""
    rule = ["ACL", "SETUSER", user.name, "reset", "on", "~*", "&*", "+@all"]
    rule += [">" + p for p in user.passwords]
    if not user.passwords:
        rule[4] = "off"
    _redis(tuple(rule))


_create_user = ec_models.ElastiCacheBackend.create_user
_delete_user = ec_models.ElastiCacheBackend.delete_user


def _create_user_mirrored(self, *args, **kwargs):
    user = _create_user(self, *args, **kwargs)
    _mirror(user)
    return user


def _delete_user_unmirrored(self, user_id):
    # The service refuses to delete a user that is modifying; moto would not.
    with _lock:
        if user_id in self.users and self.users[user_id].status == "modifying":
            raise InvalidUserState(f"User {user_id} is not in active state.")
        user = _delete_user(self, user_id)
        for group in self.sandbox_user_groups.values() if hasattr(self, "sandbox_user_groups") else ():
            if user_id in group["UserIds"]:
                group["UserIds"].remove(user_id)
    _redis(("ACL", "DELUSER", user.name))
    return user


def password_refused(p):
    """Why the documented rule (PASSWORD_RULE) refuses `p`, or None."""
    rule = PASSWORD_RULE
    if not rule["min_length"] <= len(p) <= rule["max_length"]:
        return f"Passwords length must be between {rule['min_length']}-{rule['max_length']} characters."
    if not all(rule["printable_first"] <= ord(c) <= rule["printable_last"] for c in p):
        return "Passwords must be printable characters."
    if any(c in rule["excluded"] for c in p):
        return "Passwords must not contain " + " ".join(rule["excluded"]) + "."
    return None


def _modify_user(self, user_id, passwords):
    with _lock:
        if user_id not in self.users:
            raise UserNotFound(user_id)
        user = self.users[user_id]
        if user.status != "active":
            raise InvalidUserState(f"User {user_id} is not in active state.")
        if not PASSWORD_RULE["min_passwords"] <= len(passwords) <= PASSWORD_RULE["max_passwords"]:
            raise InvalidParameterValueException(
                f"A user can have {PASSWORD_RULE['min_passwords']} to {PASSWORD_RULE['max_passwords']} passwords.")
        for p in passwords:
            why = password_refused(p)
            if why:
                raise InvalidParameterValueException(why)
        user.passwords = list(passwords)
        user.authentication_type = "password"
        user.no_password_required = False
        user.status = "modifying"

    def settle():
        # The new passwords take effect on the cache when the modification completes.
        _mirror(user)
        with _lock:
            user.status = "active"

    timer = threading.Timer(_settle_seconds(), settle)
    timer.daemon = True
    timer.start()
    return user


def _settle_seconds():
    return float(os.environ.get("SANDBOX_ELASTICACHE_MODIFY_SECONDS", "0.3"))


def _modify_user_response(self):
    fields = _fields(self)
    params = self._get_params()
    passwords = params.get("Passwords") or []
    call = {"fields": fields, "password_count": len(passwords), "error": None}
    with _lock:
        _modify_user_calls.setdefault(params.get("UserId") or "", []).append(call)
    try:
        _refuse_unmodeled("ModifyUser", fields)
        user = self.elasticache_backend.modify_user(params.get("UserId"), passwords)
    except ElastiCacheException as e:
        call["error"] = e.code
        raise
    return ec_responses.ActionResult(user)


# User groups, as far as a calibration run needs them (scripts/elasticache_calibrate.py adds its
# scratch user to a group and takes it out again). Membership does not change what the sandbox
# Redis accepts: every user is mirrored into it, as if every group were on that one cache.
def _groups(backend):
    if not hasattr(backend, "sandbox_user_groups"):
        backend.sandbox_user_groups = {}
    return backend.sandbox_user_groups


def _group_view(backend, group):
    return dict(group, ARN=f"arn:aws:elasticache:{backend.region_name}:{backend.account_id}:usergroup:{group['UserGroupId']}",
                MinimumEngineVersion="6.0", ReplicationGroups=[], ServerlessCaches=[])


def _settle_group(group):
    def settle():
        with _lock:
            if group["Status"] == "modifying":
                group["Status"] = "active"
    timer = threading.Timer(_settle_seconds(), settle)
    timer.daemon = True
    timer.start()


def _group_request(response, action):
    """The checked request of a user-group action: (params, backend, UserGroupId)."""
    _refuse_unmodeled(action, _fields(response))
    params = response._get_params()
    return params, response.elasticache_backend, params.get("UserGroupId")


def _group_of(backend, group_id):
    """The group named `group_id`, or UserGroupNotFound (hold _lock)."""
    groups = _groups(backend)
    if group_id not in groups:
        raise UserGroupNotFound(f"User group {group_id} not found.")
    return groups[group_id]


def _create_user_group_response(self):
    params, backend, group_id = _group_request(self, "CreateUserGroup")
    with _lock:
        groups = _groups(backend)
        if group_id in groups:
            raise UserGroupAlreadyExists(f"User group {group_id} already exists.")
        user_ids = list(params.get("UserIds") or [])
        for u in user_ids:
            if u not in backend.users:
                raise UserNotFound(u)
        group = {"UserGroupId": group_id, "Status": "modifying", "Engine": (params.get("Engine") or "").lower(),
                 "UserIds": user_ids}
        groups[group_id] = group
        for u in user_ids:
            backend.users[u].user_group_ids.append(group_id)
    _settle_group(group)
    return ec_responses.ActionResult(_group_view(backend, group))


def _describe_user_groups_response(self):
    _, backend, group_id = _group_request(self, "DescribeUserGroups")
    with _lock:
        found = [_group_of(backend, group_id)] if group_id else list(_groups(backend).values())
        return ec_responses.ActionResult({"UserGroups": [_group_view(backend, g) for g in found]})


def _modify_user_group_response(self):
    params, backend, group_id = _group_request(self, "ModifyUserGroup")
    with _lock:
        group = _group_of(backend, group_id)
        if group["Status"] != "active":
            raise InvalidUserGroupState(f"User group {group_id} is not in active state.")
        add = list(params.get("UserIdsToAdd") or [])
        remove = list(params.get("UserIdsToRemove") or [])
        for u in add + remove:
            if u not in backend.users:
                raise UserNotFound(u)
        for u in add:
            if u not in group["UserIds"]:
                group["UserIds"].append(u)
                backend.users[u].user_group_ids.append(group_id)
        for u in remove:
            if u in group["UserIds"]:
                group["UserIds"].remove(u)
                backend.users[u].user_group_ids.remove(group_id)
        group["Status"] = "modifying"
    _settle_group(group)
    return ec_responses.ActionResult(_group_view(backend, group))


def _delete_user_group_response(self):
    _, backend, group_id = _group_request(self, "DeleteUserGroup")
    with _lock:
        _group_of(backend, group_id)
        group = _groups(backend).pop(group_id)
        for u in group["UserIds"]:
            if u in backend.users and group_id in backend.users[u].user_group_ids:
                backend.users[u].user_group_ids.remove(group_id)
    return ec_responses.ActionResult(dict(_group_view(backend, group), Status="deleting"))


def _modify_user_calls_view(request, full_url, headers):
    """GET /moto-api/sandbox/elasticache/modify-user?user_id=ID: the ModifyUser requests the
    sandbox received for that user (fields, password count, error code), as JSON. Loopback
    clients only."""
    if request.remote_addr not in ("127.0.0.1", "::1"):
        return 403, {}, json.dumps({"error": "loopback clients only"})
    query = parse_qs(urlparse(full_url).query)
    user_id = (query.get("user_id") or [""])[0]
    with _lock:
        calls = [dict(c) for c in _modify_user_calls.get(user_id, [])]
    return 200, {"Content-Type": "application/json"}, json.dumps({"user_id": user_id, "calls": calls})


ec_models.ElastiCacheBackend.create_user = _create_user_mirrored
ec_models.ElastiCacheBackend.delete_user = _delete_user_unmirrored
ec_models.ElastiCacheBackend.modify_user = _modify_user
ec_responses.ElastiCacheResponse.modify_user = _modify_user_response
ec_responses.ElastiCacheResponse.create_user_group = _create_user_group_response
ec_responses.ElastiCacheResponse.describe_user_groups = _describe_user_groups_response
ec_responses.ElastiCacheResponse.modify_user_group = _modify_user_group_response
ec_responses.ElastiCacheResponse.delete_user_group = _delete_user_group_response
moto_api_urls.url_paths["{0}/moto-api/sandbox/elasticache/modify-user"] = _modify_user_calls_view

if __name__ == "__main__":
    sys.exit(main())
