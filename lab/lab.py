"""The embedded lab: a real neutron-server on 127.0.0.1 as the cloud, and one podman container
(systemd as PID 1, the local Debian image) per planned host, on dual-stack networks whose
addresses are the ones Neutron assigned to each host's port.

    .venv/bin/python lab/lab.py up        # idempotent: image, Neutron, Neutron resources, containers,
                                          # SSH user, stand-ins (lab/playbooks/standins.yml)
    .venv/bin/python lab/lab.py up --neutron-config OLD.toml   # Neutron and stand-ins as OLD.toml (the
                                          # IPv4-only config of a cluster to convert) built them
    .venv/bin/python lab/lab.py client    # after a site run: the WireGuard client (lab/playbooks/client.yml)
    .venv/bin/python lab/lab.py status
    .venv/bin/python lab/lab.py summary   # after a site run: VIP holder, BGP, pings, configs
    .venv/bin/python lab/lab.py down      # no container, network or process left behind
    .venv/bin/python lab/lab.py keys      # only the lab WireGuard client's key pair (tools/setup.sh runs it)
    .venv/bin/python lab/lab.py clouds-yaml   # the lab cloud's clouds.yaml (for OS_CLIENT_CONFIG_FILE)

The config is config/config.toml or $DUALSTACK_CONFIG; it needs a [lab] table. Networks are
created --internal: lab traffic stays between the lab's own containers (and the host bridge).

How Ansible reaches the lab's hosts is the lab's own business: `up` writes
.cache/lab/<cluster>/hosts.json, and the lab's vars plugin (lab/plugins/vars/dualstack_lab.py,
enabled in the root ansible.cfg) turns it into connection variables: the harness connection
(lab/plugins/connection/dualstack_lab_podman.py, root through nsenter) by default, or SSH as the
user `dsk` with sudo when DUALSTACK_LAB_CONNECTION=ssh.
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import os
import signal
import subprocess
import sys
import time
import urllib.request

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(REPO, ".collections"))

from ansible_collections.dualstack.k8s.plugins.plugin_utils.config import ConfigError  # noqa: E402
from ansible_collections.dualstack.k8s.plugins.plugin_utils.plan import load_plan  # noqa: E402

NEUTRON_PY = os.path.join(REPO, ".cache", "neutron-venv", "bin", "python")
VENV_BIN = os.path.join(REPO, ".venv", "bin")
CONTAINERS_CONF = os.path.join(REPO, "lab", "containers.conf")
LABEL = "dualstack-k8s-lab"
CAPS = "NET_ADMIN,NET_RAW,NET_BROADCAST,SYS_ADMIN"
LAB_PLAYBOOKS = os.path.join(REPO, "lab", "playbooks")
# SSH mode: this user (NOPASSWD sudo) with this key pair (made once, private key 0600) in every container
SSH_USER = "dsk"
SSH_DIR = os.path.join(REPO, ".cache", "lab", "ssh")
SSH_KEY = os.path.join(SSH_DIR, "id_ed25519")
# podman's own races while a container stops (issue 15 item 9): retried, then checked
RETRIES = 5


class LabError(Exception):
    pass


class Paths(object):
    """Where one lab (one cluster name) keeps its state: .cache/lab/<cluster>/."""

    def __init__(self, cluster):
        self.state = os.path.join(REPO, ".cache", "lab", cluster)
        self.neutron = os.path.join(self.state, "neutron")
        self.port_file = os.path.join(self.neutron, "port")
        self.pid_file = os.path.join(self.neutron, "pid")
        self.clouds_yaml = os.path.join(self.state, "clouds.yaml")
        # read by lab/plugins/vars/dualstack_lab.py: which hosts are up, their containers and addresses
        self.hosts_file = os.path.join(self.state, "hosts.json")
        self.known_hosts = os.path.join(self.state, "ssh_known_hosts")


PATHS = None


def paths():
    global PATHS
    if PATHS is None:
        PATHS = Paths(raw_config().get("cluster", {}).get("name", "dualstack"))
    return PATHS


def raw_config():
    import tomllib
    from ansible_collections.dualstack.k8s.plugins.plugin_utils.config import config_path
    try:
        with open(config_path(), "rb") as handle:
            return tomllib.load(handle)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise LabError("cannot read %s: %s" % (config_path(), exc))


def say(msg):
    print("\033[1m==> %s\033[0m" % msg, flush=True)


def env(config=None):
    out = dict(os.environ, CONTAINERS_CONF=CONTAINERS_CONF, OS_CLIENT_CONFIG_FILE=paths().clouds_yaml)
    out["PATH"] = VENV_BIN + os.pathsep + out.get("PATH", "")
    if config:
        out["DUALSTACK_CONFIG"] = os.path.abspath(config)
    return out


def run(cmd, check=True, capture=True, timeout=600):
    res = subprocess.run(cmd, env=env(), capture_output=capture, text=True, timeout=timeout, check=False)
    if check and res.returncode != 0:
        raise LabError("%s failed (%d): %s" % (" ".join(cmd[:4]), res.returncode,
                                               (res.stderr or res.stdout or "").strip()[-2000:]))
    return res


def podman(*args, check=True, timeout=600):
    return run(["podman"] + list(args), check=check, timeout=timeout)


def podman_retry(*args, what=""):
    """A podman command that podman's own stop races can make fail once or twice ("container state
    improper", "StopSignal ... resorting to SIGKILL", a lock timeout): tried up to RETRIES times."""
    res = None
    for attempt in range(RETRIES):
        res = podman(*args, check=False)
        if res.returncode == 0:
            return res
        time.sleep(0.5 * (attempt + 1))
    raise LabError("podman %s failed %d times%s: %s" % (" ".join(args[:3]), RETRIES, what,
                                                        (res.stderr or res.stdout or "").strip()[-1000:]))


def plan():
    try:
        p = load_plan()
    except ConfigError as exc:
        raise LabError(str(exc))
    if not p.get("lab"):
        raise LabError("the config has no [lab] table: the embedded lab needs one (see config/config.toml)")
    return p


# ------------------------------------------------------------------------------------------
# Neutron
# ------------------------------------------------------------------------------------------

def neutron_port():
    try:
        with open(paths().pid_file) as handle:
            pid = int(handle.read())
        os.kill(pid, 0)
        with open(paths().port_file) as handle:
            port = int(handle.read())
        urllib.request.urlopen("http://127.0.0.1:%d/v2.0/networks?limit=1" % port, timeout=5).read()
        return port
    except (OSError, ValueError):
        return None


def neutron_up(p):
    port = neutron_port()
    if port:
        say("Neutron already serving on 127.0.0.1:%d" % port)
        return port
    if not os.path.exists(NEUTRON_PY):
        raise LabError("%s is missing: run tools/setup.sh first" % NEUTRON_PY)
    os.makedirs(paths().neutron, exist_ok=True)
    for stale in (paths().port_file, paths().pid_file):
        if os.path.exists(stale):
            os.unlink(stale)
    ext = p["lab"]["external"]
    cmd = [NEUTRON_PY, os.path.join(REPO, "lab", "neutron_server.py"), "--state-dir", paths().neutron,
           "--port", "0", "--port-file", paths().port_file, "--bootstrap-external",
           "--clouds-yaml", paths().clouds_yaml, "--cloud", p["openstack"]["cloud"] if p.get("openstack") else "lab"]
    if ext.get("ipv4"):
        cmd += ["--external-v4", ext["ipv4"]]
    if ext.get("ipv6"):
        cmd += ["--external-v6", ext["ipv6"]]
    say("starting neutron-server (SQLite, 127.0.0.1)")
    log = open(os.path.join(paths().neutron, "server.log"), "ab")
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                            start_new_session=True, cwd=REPO)
    with open(paths().pid_file, "w") as handle:
        handle.write(str(proc.pid))
    deadline = time.time() + 120
    while time.time() < deadline:
        if proc.poll() is not None:
            raise LabError("neutron-server exited (%s); see %s" % (proc.returncode,
                                                                   os.path.join(paths().neutron, "server.log")))
        port = neutron_port()
        if port and os.path.exists(paths().clouds_yaml) and _external_ready(port):
            say("Neutron serving on 127.0.0.1:%d" % port)
            return port
        time.sleep(0.5)
    raise LabError("neutron-server did not answer within 120 s")


def _external_ready(port):
    try:
        url = "http://127.0.0.1:%d/v2.0/networks?router:external=True" % port
        return bool(json.loads(urllib.request.urlopen(url, timeout=5).read())["networks"])
    except (OSError, ValueError, KeyError):
        return False


def neutron_down():
    try:
        with open(paths().pid_file) as handle:
            pid = int(handle.read())
    except (OSError, ValueError):
        return
    try:
        os.killpg(pid, signal.SIGTERM)
    except OSError:
        return
    for _i in range(50):
        try:
            os.kill(pid, 0)
        except OSError:
            return
        time.sleep(0.1)
    try:
        os.killpg(pid, signal.SIGKILL)
    except OSError:
        pass


def neutron_ports(p):
    """{host: {"ipv4": .., "ipv6": ..}} as Neutron assigned them to each host's port."""
    port = neutron_port()
    url = "http://127.0.0.1:%d/v2.0/ports" % port
    ports = json.loads(urllib.request.urlopen(url, timeout=10).read())["ports"]
    by_name = {x["name"]: x for x in ports}
    out = {}
    for host, name in p["openstack"]["port_names"].items():
        if name not in by_name:
            raise LabError("Neutron has no port %s for host %s: did the OpenStack stage run?" % (name, host))
        addrs = {}
        for fixed in by_name[name]["fixed_ips"]:
            ip = ipaddress.ip_address(fixed["ip_address"])
            addrs["ipv4" if ip.version == 4 else "ipv6"] = str(ip)
        out[host] = addrs
    return out


# ------------------------------------------------------------------------------------------
# Podman
# ------------------------------------------------------------------------------------------

def check_clashes(nets):
    """Refuse lab subnets that overlap a route of the host (other than our own bridges)."""
    clashes = []
    for fam in ("-4", "-6"):
        routes = json.loads(run(["ip", "-j", fam, "route", "show", "table", "all"]).stdout or "[]")
        for route in routes:
            dst = route.get("dst", "")
            if dst in ("", "default") or route.get("type", "unicast") not in ("unicast", "local"):
                continue
            try:
                d = ipaddress.ip_network(dst, strict=False)
            except ValueError:
                continue
            for name, cidr in nets:
                s = ipaddress.ip_network(cidr)
                if s.version == d.version and s.overlaps(d) and not _is_our_bridge(route.get("dev", ""), name):
                    clashes.append("%s (%s) overlaps the host's route %s on %s" % (s, name, d, route.get("dev")))
    if clashes:
        raise LabError("lab networks clash with this host's networks; give [network]/[lab] other subnets:\n  "
                       + "\n  ".join(sorted(set(clashes))))


def _is_our_bridge(dev, name):
    res = podman("network", "inspect", name, check=False)
    if res.returncode != 0:
        return False
    return any(n.get("network_interface") == dev for n in json.loads(res.stdout))


def networks(p):
    lab = p["lab"]
    out = [(lab["networks"]["nodes"], [p["network"][f]["cidr"] for f in ("ipv4", "ipv6") if p["network"][f]])]
    ext = [c for c in (lab["external"].get("ipv4"), lab["external"].get("ipv6")) if c]
    if ext:
        out.append((lab["networks"]["external"], ext))
    return out


def ensure_networks(p):
    nets = networks(p)
    check_clashes([(name, c) for name, cidrs in nets for c in cidrs])
    for name, cidrs in nets:
        res = podman("network", "inspect", name, check=False)
        if res.returncode == 0:
            have = sorted(s["subnet"] for s in json.loads(res.stdout)[0].get("subnets", []))
            if have != sorted(cidrs):
                raise LabError("podman network %s has subnets %s, the config wants %s: run `lab down` first"
                               % (name, have, cidrs))
            continue
        args = ["network", "create", "--internal", "--label", "%s=%s" % (LABEL, p["cluster"]["name"])]
        # --ipv6 only next to an IPv4 subnet: with it, podman 4 adds an IPv4 subnet of its own to an
        # IPv6-only network (and gives every container an IPv4 address the mode does not have)
        if any(":" in c for c in cidrs) and any(":" not in c for c in cidrs):
            args.append("--ipv6")
        for c in cidrs:
            args += ["--subnet", c]
        podman(*(args + [name]))
        say("network %s %s" % (name, " ".join(cidrs)))


def container_specs(p, addresses):
    lab = p["lab"]
    specs = []
    for host, cname in lab["containers"].items():
        nets = []
        if host in addresses:
            nets.append((lab["networks"]["nodes"], [addresses[host][f] for f in ("ipv4", "ipv6")
                                                    if addresses[host].get(f)]))
        if host in lab["external_hosts"]:
            nets.append((lab["networks"]["external"], [a for a in lab["external_hosts"][host].values() if a]))
        specs.append({"host": host, "name": cname, "networks": nets})
    return specs


def ensure_containers(p, image, addresses):
    started = []
    image_id = podman("image", "inspect", "--format", "{{.Id}}", image).stdout.strip()
    for spec in container_specs(p, addresses):
        res = podman("container", "inspect", spec["name"], check=False)
        if res.returncode == 0:
            info = json.loads(res.stdout)[0]
            if info.get("Image") != image_id:
                say("container %s runs an older lab image: re-created" % spec["name"])
                remove_containers([spec["name"]])
            elif info["State"]["Running"]:
                continue
            elif podman("start", spec["name"], check=False).returncode == 0:
                started.append(spec["name"])
                continue
            else:  # a container podman cannot start again (half removed, stale state): a new one
                remove_containers([spec["name"]])
        args = ["run", "-d", "--name", spec["name"], "--hostname", spec["host"],
                "--label", "%s=%s" % (LABEL, p["cluster"]["name"]),
                "--systemd=always", "--cap-add", CAPS, "--device", "/dev/net/tun"]
        # fixed interface names (nodes eth0, external eth1), as render.yml's render_interfaces assume
        for index, (net, ips) in enumerate(spec["networks"]):
            args += ["--network", "%s:interface_name=eth%d,%s" % (net, index, ",".join("ip=%s" % ip for ip in ips))]
        podman(*(args + [image, "/sbin/init"]))
        started.append(spec["name"])
        say("container %s (%s)" % (spec["name"], "; ".join("%s %s" % (n, " ".join(i)) for n, i in spec["networks"])))
    for name in started:
        wait_systemd(name)
    strip_other_families(p, addresses)


def strip_other_families(p, addresses):
    """Only the planned families on each container's interface: podman gives a container an address of
    every subnet of a dual-stack network, also of a family the host must not have (the IPv6-only client
    or the IPv4-only outside host on the dual-stack external network)."""
    for spec in container_specs(p, addresses):
        for index, (dummy, ips) in enumerate(spec["networks"]):
            for version, flag in ((4, "-4"), (6, "-6")):
                if any(ipaddress.ip_address(ip).version == version for ip in ips):
                    continue
                dev = "eth%d" % index
                have = podman("exec", spec["name"], "ip", "-o", flag, "addr", "show", "dev", dev, "scope", "global",
                              check=False).stdout.strip()
                if have:
                    podman("exec", spec["name"], "ip", flag, "addr", "flush", "dev", dev, "scope", "global")
                    say("%s: no IPv%d on %s (the host has none)" % (spec["name"], version, dev))


def wait_systemd(name, timeout=60):
    deadline = time.time() + timeout
    while time.time() < deadline:
        res = podman("exec", name, "systemctl", "is-system-running", check=False)
        if res.stdout.strip() in ("running", "degraded"):
            return
        time.sleep(0.3)
    raise LabError("systemd in %s did not come up within %d s" % (name, timeout))


def ensure_ssh_key():
    """The lab's SSH key pair (made once; private key 0600 in a 0700 directory)."""
    if os.path.exists(SSH_KEY) and os.path.exists(SSH_KEY + ".pub"):
        os.chmod(SSH_KEY, 0o600)
        return
    os.makedirs(SSH_DIR, mode=0o700, exist_ok=True)
    os.chmod(SSH_DIR, 0o700)
    for stale in (SSH_KEY, SSH_KEY + ".pub"):
        if os.path.exists(stale):
            os.unlink(stale)
    run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "dualstack-lab", "-f", SSH_KEY])
    os.chmod(SSH_KEY, 0o600)
    say("SSH key pair for the lab's user %s (private key 0600: %s)" % (SSH_USER, SSH_KEY))


# Run in every container by `up`: the SSH user with NOPASSWD sudo and the lab's key; prints the
# container's SSH host key (made at first boot, lab/image.py) for the lab's known_hosts.
SSH_SETUP = r"""set -eu
id -u {user} >/dev/null 2>&1 || useradd --create-home --shell /bin/bash {user}
install -d -m 0700 -o {user} -g {user} /home/{user}/.ssh
printf '%s\n' "$1" > /home/{user}/.ssh/authorized_keys.new
chown {user}:{user} /home/{user}/.ssh/authorized_keys.new
chmod 0600 /home/{user}/.ssh/authorized_keys.new
mv /home/{user}/.ssh/authorized_keys.new /home/{user}/.ssh/authorized_keys
printf '%s\n' '{user} ALL=(ALL:ALL) NOPASSWD: ALL' > /etc/sudoers.d/{user}.new
chmod 0440 /etc/sudoers.d/{user}.new
visudo -q -c -f /etc/sudoers.d/{user}.new
mv /etc/sudoers.d/{user}.new /etc/sudoers.d/{user}
i=0; while [ ! -s /etc/ssh/ssh_host_ed25519_key.pub ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done
systemctl is-active --quiet ssh.service || systemctl start ssh.service
cat /etc/ssh/ssh_host_ed25519_key.pub
""".format(user=SSH_USER)


def ssh_address(p, host):
    """The address the controller reaches a container at over SSH: its primary address on the node
    network (the host holds the bridge's first address), the client's on the external network."""
    if host in p["hosts"]:
        return p["hosts"][host]["primary_ip"]
    ext = p["lab"]["external_hosts"][host]
    return ext.get(p["cluster"]["primary_family"]) or ext.get("ipv4") or ext.get("ipv6")


def ensure_access(p):
    """The SSH user and known_hosts in every container, then hosts.json for the lab's vars plugin."""
    ensure_ssh_key()
    with open(SSH_KEY + ".pub") as handle:
        pub = handle.read().strip()
    from concurrent.futures import ThreadPoolExecutor

    def one(item):
        host, container = item
        res = podman("exec", container, "/bin/sh", "-c", SSH_SETUP, "sh", pub, check=False, timeout=60)
        if res.returncode != 0:
            raise LabError("SSH set-up in %s failed: %s" % (container, (res.stderr or res.stdout).strip()[-500:]))
        return host, res.stdout.strip().splitlines()[-1]

    with ThreadPoolExecutor(max_workers=4) as pool:
        host_keys = dict(pool.map(one, sorted(p["lab"]["containers"].items())))
    hosts = {host: {"container": container, "address": ssh_address(p, host)}
             for host, container in p["lab"]["containers"].items()}
    write_private(paths().known_hosts, "".join("%s %s\n" % (hosts[h]["address"], " ".join(k.split()[:2]))
                                               for h, k in sorted(host_keys.items())))
    write_private(paths().hosts_file, json.dumps({
        "cluster": p["cluster"]["name"],
        "hosts": hosts,
        "ssh": {"user": SSH_USER, "private_key_file": SSH_KEY, "known_hosts": paths().known_hosts},
    }, indent=2, sort_keys=True) + "\n")


def write_private(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tmp = path + ".tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
    os.replace(tmp, path)


def ensure_client_key():
    """The lab client's key pair, where the config's public_key_file says (private key: .key, 0600).

    Runs before the config is validated: validation reads that public key file."""
    data = raw_config()
    client = data.get("lab", {}).get("wireguard_client")
    peers = [x for x in data.get("wireguard", {}).get("peers", []) if x.get("name") == client]
    if not client or not peers or not peers[0].get("public_key_file"):
        return
    from ansible_collections.dualstack.k8s.plugins.plugin_utils.config import config_path
    pub = peers[0]["public_key_file"]
    if not os.path.isabs(pub):
        pub = os.path.join(os.path.dirname(os.path.abspath(config_path())), pub)
    pub = os.path.normpath(pub)
    key = os.path.splitext(pub)[0] + ".key"
    if os.path.exists(key) and os.path.exists(pub):
        return
    os.makedirs(os.path.dirname(pub), mode=0o700, exist_ok=True)
    old = os.umask(0o077)
    try:
        private = run(["wg", "genkey"]).stdout.strip()
        with open(key, "w") as handle:
            handle.write(private + "\n")
    finally:
        os.umask(old)
    public = subprocess.run(["wg", "pubkey"], input=private + "\n", capture_output=True, text=True,
                            check=True).stdout.strip()
    with open(pub, "w") as handle:
        handle.write(public + "\n")
    say("WireGuard key pair for lab client %s (private key 0600: %s)" % (client, key))


def ansible_playbook(playbook, *extra, config=None):
    """ansible-playbook from the checkout (its ansible.cfg); `playbook` relative to the checkout;
    `config`: another config.toml than $DUALSTACK_CONFIG."""
    cmd = [os.path.join(VENV_BIN, "ansible-playbook"), os.path.join(REPO, playbook)] + list(extra)
    res = subprocess.run(cmd, env=env(config), cwd=REPO, check=False)
    if res.returncode != 0:
        raise LabError("ansible-playbook %s failed (%d)" % (playbook, res.returncode))


# ------------------------------------------------------------------------------------------
# Commands
# ------------------------------------------------------------------------------------------

def built_plan(p, path):
    """The plan of `up --neutron-config PATH`: the same cluster as $DUALSTACK_CONFIG (name, every host and
    its IPv4 address), e.g. the IPv4-only config of a cluster that playbooks/convert.yml then converts."""
    try:
        built = load_plan(os.path.abspath(path))
    except ConfigError as exc:
        raise LabError("--neutron-config %s: %s" % (path, exc))
    if built["cluster"]["name"] != p["cluster"]["name"] or set(built["hosts"]) != set(p["hosts"]):
        raise LabError("--neutron-config %s: cluster.name and the hosts must be those of %s (one lab)"
                       % (path, os.environ.get("DUALSTACK_CONFIG", "config/config.toml")))
    for host, entry in built["hosts"].items():
        for fam in ("ipv4", "ipv6"):
            if entry[fam] and entry[fam] != p["hosts"][host][fam]:
                raise LabError("--neutron-config %s: %s has %s %s there, %s in %s" % (
                    path, host, fam, entry[fam], p["hosts"][host][fam], os.environ.get("DUALSTACK_CONFIG")))
    return built


def cmd_up(args):
    t0 = time.time()
    ensure_client_key()
    p = plan()
    # --neutron-config: Neutron and the stand-ins as that config built them (e.g. an IPv4-only cluster),
    # the networks and containers from $DUALSTACK_CONFIG with every address it plans (unused until the
    # conversion gives them to Neutron: podman cannot add a subnet to an existing network)
    built = built_plan(p, args.neutron_config) if args.neutron_config else p
    say("lab image")
    image = run([sys.executable, os.path.join(REPO, "lab", "image.py")], timeout=1200).stdout.strip().splitlines()[-1]
    if p.get("openstack"):
        neutron_up(p)
        say("Neutron resources (playbooks/openstack.yml%s)" % (" with " + args.neutron_config if args.neutron_config else ""))
        ansible_playbook("playbooks/openstack.yml", config=args.neutron_config)
        addresses = neutron_ports(p)
        for host, addrs in addresses.items():
            want = {f: built["hosts"][host][f] for f in ("ipv4", "ipv6") if built["hosts"][host][f]}
            if addrs != want:
                raise LabError("Neutron gave %s the addresses %s, the plan says %s" % (host, addrs, want))
    if args.neutron_config or not p.get("openstack"):
        addresses = {h: {f: v[f] for f in ("ipv4", "ipv6") if v[f]} for h, v in p["hosts"].items()}
    ensure_networks(p)
    ensure_containers(p, image, addresses)
    ensure_access(p)
    say("stand-ins for calico/node and the API server (lab/playbooks/standins.yml)")
    ansible_playbook("lab/playbooks/standins.yml", config=args.neutron_config)
    say("lab up in %.1f s" % (time.time() - t0))


def cmd_client(args):
    """The lab's WireGuard client, after a site run (it needs the gateways' public key)."""
    del args
    plan()
    if not os.path.exists(paths().hosts_file):
        raise LabError("the lab is not up: run `lab up` first")
    say("WireGuard client (lab/playbooks/client.yml)")
    ansible_playbook("lab/playbooks/client.yml")


def cluster_name():
    return raw_config().get("cluster", {}).get("name", "dualstack")


def lab_containers():
    res = podman("ps", "-a", "--filter", "label=%s=%s" % (LABEL, cluster_name()), "--format", "json", check=False)
    return json.loads(res.stdout or "[]") if res.returncode == 0 else []


def lab_networks():
    res = podman("network", "ls", "--filter", "label=%s=%s" % (LABEL, cluster_name()), "--format", "{{.Name}}",
                 check=False)
    return [n for n in res.stdout.split() if n] if res.returncode == 0 else []


def remove_containers(names):
    """Remove containers however podman's stop races go (issue 15 item 9): no stop timeout (the lab's
    containers hold nothing to save), every name retried while it is still there, then checked."""
    left = list(names)
    err = ""
    for attempt in range(RETRIES):
        # SIGKILL at once (-t 0); --ignore: one another process removed is no error
        res = podman("rm", "--force", "--ignore", "--time", "0", *left, check=False, timeout=120)
        err = (res.stderr or "").strip()
        existing = set(podman("ps", "-a", "--format", "{{.Names}}", check=False).stdout.split())
        left = [n for n in left if n in existing]
        if not left:
            return
        time.sleep(0.5 * (attempt + 1))
    raise LabError("containers still there after %d attempts: %s (podman: %s)" % (RETRIES, " ".join(left),
                                                                                  err[-1000:]))


def cmd_down(args):
    del args
    names = [c["Names"][0] for c in lab_containers()]
    if names:
        remove_containers(names)
        say("removed %d containers" % len(names))
    nets = lab_networks()
    if nets:
        podman_retry("network", "rm", "-f", *nets, what=" (networks %s)" % " ".join(nets))
        say("removed networks %s" % " ".join(nets))
    neutron_down()
    for path in (paths().hosts_file, paths().known_hosts):
        if os.path.exists(path):
            os.unlink(path)
    if os.path.isdir(paths().neutron):
        import shutil
        shutil.rmtree(paths().neutron)
    left = [c["Names"][0] for c in lab_containers()] + lab_networks()
    if left or neutron_port():
        raise LabError("left behind: %s" % (" ".join(left) or "neutron-server"))
    say("lab down: no container, network or neutron-server left")


def cmd_clouds_yaml(args):
    """Where the lab's clouds.yaml is (for OS_CLIENT_CONFIG_FILE: tools/run-lab.sh)."""
    del args
    print(paths().clouds_yaml)


def cmd_keys(args):
    del args
    ensure_client_key()


def cmd_status(args):
    port = neutron_port()
    print("neutron-server: %s" % ("127.0.0.1:%d" % port if port else "not running"))
    res = podman("network", "ls", "--filter", "label=%s=%s" % (LABEL, cluster_name()), "--format", "{{.Name}}",
                 check=False)
    print("networks: %s" % (" ".join(res.stdout.split()) or "none"))
    for c in lab_containers():
        print("  %-22s %s" % (c["Names"][0], c["State"]))
    mode = os.environ.get("DUALSTACK_LAB_CONNECTION") or "podman"
    print("ansible reaches the hosts: %s" % (
        "not at all (the lab is not up: no %s)" % paths().hosts_file if not os.path.exists(paths().hosts_file)
        else "over SSH as %s with sudo (DUALSTACK_LAB_CONNECTION=ssh)" % SSH_USER if mode == "ssh"
        else "as root through the harness connection dualstack_lab_podman"))
    return 0 if port or "openstack" not in raw_config() else 3


def cmd_summary(args, settle=45):
    """The summary of the live hosts. Right after a site run or `lab client` BGP sessions and the
    client's tunnel may still be coming up (bird restarted, first WireGuard handshake): the checks are
    repeated for up to `settle` seconds until they all pass; the last summary is printed either way."""
    import contextlib
    import io
    from lab_summary import summary  # noqa: E402  (lab/lab_summary.py)
    p = plan()
    deadline = time.time() + settle
    while True:
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            code = summary(p, podman_exec)
        if code == 0 or time.time() >= deadline:
            print(out.getvalue(), end="")
            return code
        time.sleep(3)


def podman_exec(container, *cmd, timeout=30):
    res = run(["podman", "exec", container] + list(cmd), check=False, timeout=timeout)
    return res.returncode, res.stdout


def main(argv=None):
    parser = argparse.ArgumentParser(prog="lab", description=__doc__.split("\n\n", maxsplit=1)[0])
    sub = parser.add_subparsers(dest="command", required=True)
    for name in ("up", "client", "down", "status", "summary", "keys", "clouds-yaml"):
        cmd = sub.add_parser(name)
        if name == "up":
            cmd.add_argument("--neutron-config", metavar="PATH",
                             help="Neutron resources and stand-ins from this config of the same cluster (e.g. the "
                                  "IPv4-only one before playbooks/convert.yml); networks and containers from "
                                  "$DUALSTACK_CONFIG with all its addresses")
    args = parser.parse_args(argv)
    try:
        commands = {"up": cmd_up, "client": cmd_client, "down": cmd_down, "status": cmd_status,
                    "summary": cmd_summary, "keys": cmd_keys, "clouds-yaml": cmd_clouds_yaml}
        return commands[args.command](args) or 0
    except LabError as exc:
        print("lab %s: %s" % (args.command, exc), file=sys.stderr)
        return 2
    except subprocess.TimeoutExpired as exc:
        print("lab %s: %s timed out after %s s" % (args.command, " ".join(exc.cmd[:4]), exc.timeout), file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    sys.exit(main())
