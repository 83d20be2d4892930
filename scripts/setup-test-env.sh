#!/usr/bin/env bash
# Installs what the tests start for real (on loopback, on ports they choose): nats-server,
# OpenSSH's sshd, vsftpd and rsync, a single-node Slurm with munge, Grid Engine; then the npm packages.
# Debian/Ubuntu, as root (or through sudo). Safe to run again: apt is skipped when every
# package is already installed.
set -euo pipefail

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"

PACKAGES=(
  bash coreutils procps util-linux passwd   # bash apps, ps/kill/setsid, useradd for the PAM login test
  nats-server                               # HighThroughputExecutor tests
  openssh-server openssh-client             # SSHChannel tests (sshd on a loopback port)
  vsftpd rsync zip unzip curl               # staging tests (FTP server, rsync over ssh, archives) and bench/staging.ts
  openssl                                   # staging-https: the test makes a self-signed certificate
  iproute2 nftables                         # federation tests: sites in network namespaces behind a firewall
  slurm-wlm munge                           # SlurmProvider tests (single-node Slurm)
  gridengine-master gridengine-exec gridengine-client   # GridEngineProvider tests
  chromium                                  # the monitoring dashboard, driven by playwright-core
)

missing=()
for pkg in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done

if [ "${#missing[@]}" -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  # Grid Engine asks for its master host and cell at install time: answer ahead.
  host=$(hostname)
  for p in gridengine-common gridengine-client gridengine-master gridengine-exec; do
    printf '%s shared/gridenginemaster string %s\n%s shared/gridenginecell string default\n%s shared/gridengineconfig boolean true\n' "$p" "$host" "$p" "$p"
  done | $SUDO debconf-set-selections
  $SUDO apt-get update -qq
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
fi

npm ci --no-audit --no-fund
