// The smallest valid container and service specs, for tests that decide on literals (reconcile,
// notify): each test states only what differs from these.
import type { ContainerSpec, ServiceSpec } from '../../modules/service-spec.js';

export function containerSpec(over: Partial<ContainerSpec> = {}): ContainerSpec {
  return {
    image: 'lab/busybox',
    env: {},
    labels: {},
    ports: [],
    expose: [],
    mounts: [],
    volumesFrom: [],
    network: { mode: 'networks', networks: [{ name: 'demo_default', aliases: ['web'] }] },
    tmpfs: {},
    capAdd: [],
    capDrop: [],
    securityOpt: [],
    ulimits: [],
    extraHosts: [],
    dns: [],
    dnsSearch: [],
    devices: [],
    sysctls: {},
    ...over,
  };
}

export const serviceSpec = (main: ContainerSpec, over: Partial<ServiceSpec> = {}): ServiceSpec => ({ playbook: 'demo', service: 'web', replicas: 1, job: false, main, sidecars: [], dependsOn: [], ...over });
