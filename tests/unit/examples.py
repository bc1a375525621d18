"""What the rendering tests share: the example configs, their (cached) plans and golden-file checks."""

import copy
import glob
import os

from ansible_collections.dualstack.k8s.plugins.plugin_utils.plan import load_plan

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
GOLDEN = os.path.join(REPO, "tests", "golden")
UPDATE = os.environ.get("DUALSTACK_UPDATE_GOLDEN") == "1"

# config/examples plus the unit suite's own configs (DNS endpoint, exact version, VXLAN)
EXAMPLES = {}
for _path in sorted(glob.glob(os.path.join(REPO, "config", "examples", "*.toml"))):
    EXAMPLES[os.path.basename(_path)[:-5]] = _path
for _path in sorted(glob.glob(os.path.join(REPO, "tests", "unit", "configs", "*.toml"))):
    EXAMPLES["unit-" + os.path.basename(_path)[:-5]] = _path

_PLANS = {}


def plan_of(name):
    """A private copy of an example's plan (loaded once)."""
    if name not in _PLANS:
        _PLANS[name] = load_plan(EXAMPLES[name])
    return copy.deepcopy(_PLANS[name])


def check_golden(path, text):
    """text equals the golden file path + ".golden" (written instead with DUALSTACK_UPDATE_GOLDEN=1)."""
    path += ".golden"  # not .yaml: multi-document data files are no YAML for linters
    if UPDATE:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as handle:
            handle.write(text)
    assert os.path.exists(path), "golden file %s missing: run with DUALSTACK_UPDATE_GOLDEN=1" % path
    with open(path) as handle:
        assert handle.read() == text, "rendering differs from %s" % path


def _strip(prefix, inputs, drop=()):
    return dict((key[len(prefix):], value) for key, value in inputs.items()
                if key.startswith(prefix) and key[len(prefix):] not in drop)


def kubeadm_params(plan, name, **extra):
    """The kubeadm_config parameters the kubeadm role passes for one node: its inventory inputs
    (role_inputs.kubeadm_inputs) without the kubeadm_ prefix, plus ``extra``."""
    from ansible_collections.dualstack.k8s.plugins.plugin_utils.role_inputs import kubeadm_inputs
    params = _strip("kubeadm_", kubeadm_inputs(plan, name), drop=("ca_host",))
    params.update(extra)
    return params


def calico_params(plan, style=None):
    """The calico_manifests parameters the calico role passes (first control-plane node)."""
    from ansible_collections.dualstack.k8s.plugins.plugin_utils.role_inputs import calico_inputs
    params = _strip("calico_", calico_inputs(plan, plan["kubernetes"]["first_control_plane"]))
    if style:
        params["style"] = style
    return params
