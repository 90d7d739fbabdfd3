#!/usr/bin/env bash
# The main job, from a fresh clone on Debian as root: install berth, check the example
# playbooks, start a lab of 3 machine containers that boot systemd like Debian servers, and
# apply the demo playbook to it.
set -euo pipefail
cd "$(dirname "$0")/.."
npm ci --no-audit --no-fund
./bin/berth.js validate playbooks/*.yml
./bin/berth.js lab up --name demo --hosts 3 --init systemd
./bin/berth.js apply playbooks/demo.yml
