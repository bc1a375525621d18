#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: dualstack.k8s contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: k8s_convert_plan
short_description: Check a single to dual-stack conversion against the live cluster and plan its steps
version_added: 0.3.0
description:
  - Reads the dual-stack config (as M(dualstack.k8s.plan_info) does) and compares it with what the
    running cluster says about itself (O(live)) - the transition rules of C(plugins/plugin_utils/convert.py).
  - Fails, naming every config key to change, on a primary-family switch, reordered families, dual to single,
    Kubernetes older than 1.33, an IPAM other than Calico's, a host without its planned address, or an
    existing (IPv4) range that differs from the running one. Otherwise returns what each step writes, the
    IPv4 values being the live text.
  - Runs on the controller (action plugin); changes nothing. Used by C(playbooks/convert.yml).
requirements:
  - pydantic >= 2
  - netaddr
  - PyYAML
options:
  config:
    description: Path of the dual-stack config.toml. Defaults to E(DUALSTACK_CONFIG), else C(config/config.toml).
    type: path
  live:
    description:
      - The raw reads of the cluster - C(server_version), C(cluster_configuration) (kubeadm-config's
        ClusterConfiguration text), C(manifests) (per node, the kube-apiserver and kube-controller-manager
        manifest texts), C(kubelet_flags) (per node, the kubeadm-flags.env text), C(ippools) (items),
        C(calico_style), C(cni_network_config) or C(installation), C(kube_proxy_config), C(addresses)
        (per host, its addresses).
    type: dict
    required: true
  check_addresses:
    description: Refuse hosts without their planned addresses.
    type: bool
    default: true
author:
  - dualstack.k8s contributors (@dualstack-k8s)
attributes:
  check_mode:
    support: full
    description: Reads only.
  diff_mode:
    support: none
    description: Returns no diff.
  action:
    support: full
    description: Runs on the controller.
"""

EXAMPLES = r"""
- name: Refuse or plan the conversion
  dualstack.k8s.k8s_convert_plan:
    config: config/config.toml
    live: "{{ _live }}"
  register: _convert
"""

RETURN = r"""
errors:
  description: The refusals, each a pair of dotted config key and reason; empty when the conversion may go.
  type: list
  returned: always
old:
  description: The live state as read (families, ranges, node-ips, pools, version, IPAM).
  type: dict
  returned: always
targets:
  description: What each step writes (ClusterConfiguration text, static pod flags per node, node-ip per node,
    kube-proxy config, Calico changes); null when refused.
  type: dict
  returned: always
"""

# The work is done by the action plugin of the same name, on the controller (plugins/action/k8s_convert_plan.py):
# the transition rules are controller-only code (plugins/plugin_utils/convert.py).
