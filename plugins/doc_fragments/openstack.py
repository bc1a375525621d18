# Copyright: dualstack.k8s contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations


class ModuleDocFragment:
    """Connection options shared by the dualstack.k8s Neutron modules
    (argument spec: ``OPENSTACK_ARGSPEC`` in plugins/module_utils/openstack_base.py)."""

    DOCUMENTATION = r'''
options:
  cloud:
    description:
      - Name of a C(clouds.yaml) entry, or a dict of connection settings as openstacksdk takes them.
      - openstacksdk finds C(clouds.yaml) through E(OS_CLIENT_CONFIG_FILE) or its usual locations.
      - Without O(cloud) and O(auth), openstacksdk reads E(OS_*) environment variables.
    type: raw
  auth:
    description:
      - Authentication settings (C(auth_url), C(username), C(password), C(project_name), ...).
    type: dict
  auth_type:
    description:
      - Authentication plugin, for example C(password), C(v3applicationcredential) or C(none).
    type: str
  region_name:
    description:
      - Region of the cloud.
    type: str
  interface:
    description:
      - Endpoint interface to use from the service catalog.
    type: str
    default: public
    choices: [public, internal, admin]
    aliases: [endpoint_type]
  validate_certs:
    description:
      - Whether to verify TLS certificates. Defaults to the cloud's setting (verify).
    type: bool
    aliases: [verify]
  ca_cert:
    description:
      - CA bundle for TLS verification.
    type: str
    aliases: [cacert]
  client_cert:
    description:
      - Client certificate for TLS.
    type: str
    aliases: [cert]
  client_key:
    description:
      - Client key for TLS.
    type: str
    aliases: [key]
  api_timeout:
    description:
      - Timeout in seconds for each API request.
    type: int
requirements:
  - python >= 3.11
  - openstacksdk >= 1.0
  - netaddr
'''

    ATTRIBUTES = r'''
attributes:
  check_mode:
    support: full
    description: Computes exactly the requests it would send, sends none.
  diff_mode:
    support: full
    description: Before/after of the normalized attributes it manages.
  idempotent:
    support: full
    description: A second run with the same options sends no changing request.
'''
