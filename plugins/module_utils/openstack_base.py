# Copyright: dualstack.k8s contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
#
# PRIVATE TO THE COLLECTION: this module_utils file is an implementation detail of
# dualstack.k8s; its names may change without notice. Do not import it from elsewhere.
"""Shared base of the dualstack.k8s Neutron modules.

One place that: builds the connection (``cloud`` name or dict, or ``auth`` + friends, as
openstack.cloud takes them; ``OS_CLIENT_CONFIG_FILE`` is honoured by openstacksdk), guards the
third-party imports, records every resource change (``changed``, ``diff`` before/after, check
mode) and maps SDK / HTTP errors to ``fail_json`` naming the resource and the key involved.
"""
from __future__ import annotations

import re
import traceback

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

try:
    import openstack
    from openstack import exceptions as sdk_exc
    HAS_OPENSTACKSDK = True
    OPENSTACKSDK_IMPORT_ERROR = None
except ImportError:  # pragma: no cover - reported through missing_required_lib
    openstack = None
    sdk_exc = None
    HAS_OPENSTACKSDK = False
    OPENSTACKSDK_IMPORT_ERROR = traceback.format_exc()

try:
    from keystoneauth1 import exceptions as ksa_exc
except ImportError:  # pragma: no cover - comes with openstacksdk
    ksa_exc = None

# (library, importable, import traceback): checked before run(); other module_utils append theirs.
REQUIREMENTS = [('openstacksdk', HAS_OPENSTACKSDK, OPENSTACKSDK_IMPORT_ERROR)]


# The connection options; plugins/doc_fragments/openstack.py documents exactly these.
OPENSTACK_ARGSPEC = dict(
    cloud=dict(type='raw'),
    auth=dict(type='dict', no_log=True),
    auth_type=dict(type='str'),
    region_name=dict(type='str'),
    interface=dict(type='str', default='public', choices=['public', 'internal', 'admin'],
                   aliases=['endpoint_type']),
    validate_certs=dict(type='bool', aliases=['verify']),
    ca_cert=dict(type='str', aliases=['cacert']),
    client_cert=dict(type='str', aliases=['cert']),
    client_key=dict(type='str', no_log=True, aliases=['key']),
    api_timeout=dict(type='int'),
)

_CONNECT_KWARGS = {
    'auth': 'auth', 'auth_type': 'auth_type', 'region_name': 'region_name', 'interface': 'interface',
    'validate_certs': 'verify', 'ca_cert': 'cacert', 'client_cert': 'cert', 'client_key': 'key',
    'api_timeout': 'api_timeout',
}


class ModuleError(Exception):
    """An error the user can act on: ``key`` names the option (or plan key) involved."""

    def __init__(self, msg, resource=None, key=None, **details):
        super().__init__(msg)
        self.msg = msg
        self.resource = resource
        self.key = key
        self.details = details


class ApiError(ModuleError):
    """A Neutron API error, annotated with the resource and the request's keys."""

    def __init__(self, exc, resource, keys=()):
        status = getattr(exc, 'status_code', None)
        message = _server_message(exc)
        key = guess_key(message, keys)
        kind = _kind_of(exc, status)
        where = f"{resource}: " if resource else ''
        hint = f" (key '{key}')" if key else ''
        super().__init__(f"{where}Neutron {kind}{hint}: {message}", resource=resource, key=key,
                         status_code=status)


def _kind_of(exc, status):
    if sdk_exc is not None:
        if isinstance(exc, sdk_exc.NotFoundException):
            return 'reports not found (404)'
        if isinstance(exc, sdk_exc.ConflictException):
            return 'reports a conflict (409)'
        if isinstance(exc, sdk_exc.BadRequestException):
            return 'rejected the request (400)'
    return f'returned HTTP {status}' if status else 'error'


def _server_message(exc):
    details = getattr(exc, 'details', None)
    if details:
        return str(details)
    return str(getattr(exc, 'message', None) or exc)


def guess_key(message, keys):
    """Return the first request key a Neutron message talks about ('ipv6_address_mode' matches
    'IPv6 address mode'), else None."""
    text = (message or '').lower()
    for key in sorted(keys, key=len, reverse=True):
        for form in (key, key.replace('_', ' '), key.replace('_', '')):
            if re.search(r'(?<![a-z0-9_])' + re.escape(form.lower()) + r'(?![a-z0-9_])', text):
                return key
    return None


def connect(params):
    """An openstack.connection.Connection from the shared connection options."""
    kwargs = {'app_name': 'dualstack.k8s'}
    for option, sdk_name in _CONNECT_KWARGS.items():
        if params.get(option) is not None:
            kwargs[sdk_name] = params[option]
    cloud = params.get('cloud')
    if isinstance(cloud, dict):
        merged = dict(cloud)
        merged.update(kwargs)
        return openstack.connect(**merged)
    if cloud:
        kwargs['cloud'] = cloud
    return openstack.connect(**kwargs)


class NeutronModuleBase:
    """Subclasses set ``argument_spec``, ``module_kwargs`` and implement ``run()``.

    ``run()`` calls :meth:`record` for every resource it converges (with normalized before/after
    views) and returns the dict of extra result keys. The base decides ``changed``, builds the
    diff, and turns errors into ``fail_json``.
    """

    argument_spec: dict = {}
    module_kwargs: dict = {}
    connection_options = True
    diff_by_resource = False  # True: diff before/after are {resource label: state}, even for one

    def __init__(self):
        spec = dict(OPENSTACK_ARGSPEC) if self.connection_options else {}
        spec.update(self.argument_spec)
        self.module = AnsibleModule(argument_spec=spec, supports_check_mode=True, **self.module_kwargs)
        self.params = self.module.params
        self.check_mode = self.module.check_mode
        self._conn = None
        self._changes = []

    # -- connection -------------------------------------------------------------------------
    @property
    def conn(self):
        if self._conn is None:
            self._conn = connect(self.params)
        return self._conn

    # -- change recording -------------------------------------------------------------------
    def record(self, label, before, after):
        """Register one resource's normalized state; return True when it changes."""
        changed = before != after
        if changed:
            self._changes.append((label, before, after))
        return changed

    @property
    def changed(self):
        return bool(self._changes)

    def _diff(self):
        if len(self._changes) == 1 and not self.diff_by_resource:
            label, before, after = self._changes[0]
            return {'before': before or {}, 'after': after or {}, 'before_header': label,
                    'after_header': label}
        return {'before': {change[0]: change[1] for change in self._changes},
                'after': {change[0]: change[2] for change in self._changes}}

    # -- entry point ------------------------------------------------------------------------
    def run(self):  # pragma: no cover - abstract
        raise NotImplementedError

    def __call__(self):
        for library, present, error in REQUIREMENTS:
            if not present:
                self.module.fail_json(msg=missing_required_lib(library), exception=error)
        try:
            extra = self.run() or {}
        except ModuleError as exc:
            self._fail(exc.msg, resource=exc.resource, key=exc.key, **exc.details)
        except Exception as exc:  # pylint: disable=broad-except
            self._fail_unexpected(exc)
        result = dict(changed=self.changed, **extra)
        if self.module._diff:
            result['diff'] = self._diff()
        self.module.exit_json(**result)

    def _fail(self, msg, **details):
        details = {k: v for k, v in details.items() if v is not None}
        client = getattr(self, 'client', None)
        writes = getattr(client, 'writes', 0)
        self.module.fail_json(msg=msg, changed=bool(writes), **details)

    def _fail_unexpected(self, exc):
        if ksa_exc is not None and isinstance(exc, ksa_exc.ConnectionError):
            self._fail('Cannot reach the Neutron endpoint (is neutron-server running, and is the '
                       f'cloud/endpoint right?): {exc}. Nothing is left half-done: re-run once it '
                       'is reachable; the run converges from what exists.',
                       exception=traceback.format_exc())
        if sdk_exc is not None and isinstance(exc, sdk_exc.HttpException):
            err = ApiError(exc, None)
            self._fail(err.msg, status_code=err.details.get('status_code'),
                       exception=traceback.format_exc())
        if sdk_exc is not None and isinstance(exc, sdk_exc.SDKException):
            self._fail(f'OpenStack SDK error: {exc}', exception=traceback.format_exc())
        self._fail(f'Unexpected error: {exc!r}', exception=traceback.format_exc())
