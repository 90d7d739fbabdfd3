// `services.network` and `services.volume`: the networks and named volumes a play's services
// use, as first-class entries. Created when missing, labelled with the playbook and a hash of
// their settings. One whose settings changed is reported, not recreated: a network or volume in
// use cannot be replaced without stopping what uses it, and a volume holds data.
import { defineModule, failed, type PlanResult } from '../../modules/contract.js';
import { NetworkSpec, VolumeSpec } from '../../modules/service-spec.js';
import { engine } from './engine.js';
import { canonicalJson } from './hash.js';
import { L } from './labels.js';
import { createHash } from 'node:crypto';

const settingsHash = (v: unknown) => createHash('sha256').update(canonicalJson(v)).digest('hex').slice(0, 16);

export const network = defineModule({
  name: 'services.network',
  schema: NetworkSpec,
  async plan(spec, ctx): Promise<PlanResult> {
    const e = await engine();
    if (!e.ok) return e;
    const settings = { driver: spec.driver, internal: spec.internal, attachable: spec.attachable, options: spec.options, labels: spec.labels };
    const hash = settingsHash(settings);
    let existing: { Labels?: Record<string, string> } | undefined;
    try {
      existing = await e.docker.getNetwork(spec.name).inspect();
    } catch (err) {
      if ((err as { statusCode?: number }).statusCode !== 404) return failed('services.engine', `network ${spec.name}: ${(err as Error).message}`);
    }
    if (existing) {
      const had = existing.Labels?.[L.configHash];
      if (spec.external || had === undefined || had === hash) return { ok: true, changes: [] };
      return failed('services.network-changed', `network ${spec.name} exists with other settings than the playbook's`, 'berth does not replace a network in use: remove the services on it (or the network) and apply again');
    }
    if (spec.external) return failed('services.network-missing', `network ${spec.name} is external, but does not exist on this host`);
    void ctx;
    return {
      ok: true,
      changes: [
        {
          summary: `create network ${spec.name}`,
          cause: 'missing',
          apply: async () => {
            try {
              await e.docker.createNetwork({
                Name: spec.name,
                Driver: spec.driver,
                Internal: spec.internal,
                Attachable: spec.attachable,
                Options: spec.options,
                CheckDuplicate: true,
                Labels: { ...spec.labels, [L.playbook]: spec.playbook, [L.configHash]: hash },
              });
              return { ok: true };
            } catch (err) {
              return { ok: false, error: { code: 'services.engine', message: `create network ${spec.name}: ${(err as Error).message}` } };
            }
          },
        },
      ],
    };
  },
});

export const volume = defineModule({
  name: 'services.volume',
  schema: VolumeSpec,
  async plan(spec): Promise<PlanResult> {
    const e = await engine();
    if (!e.ok) return e;
    const hash = settingsHash({ driver: spec.driver, options: spec.options, labels: spec.labels });
    let existing: { Labels?: Record<string, string> | null } | undefined;
    try {
      existing = await e.docker.getVolume(spec.name).inspect();
    } catch (err) {
      if ((err as { statusCode?: number }).statusCode !== 404) return failed('services.engine', `volume ${spec.name}: ${(err as Error).message}`);
    }
    if (existing) {
      const had = existing.Labels?.[L.configHash];
      if (spec.external || had === undefined || had === hash) return { ok: true, changes: [] };
      return failed('services.volume-changed', `volume ${spec.name} exists with other settings than the playbook's`, 'berth never replaces a volume (it holds data): move the data to a volume with a new name');
    }
    if (spec.external) return failed('services.volume-missing', `volume ${spec.name} is external, but does not exist on this host`);
    return {
      ok: true,
      changes: [
        {
          summary: `create volume ${spec.name}`,
          cause: 'missing',
          apply: async () => {
            try {
              await e.docker.createVolume({ Name: spec.name, Driver: spec.driver, DriverOpts: spec.options, Labels: { ...spec.labels, [L.playbook]: spec.playbook, [L.configHash]: hash } });
              return { ok: true };
            } catch (err) {
              return { ok: false, error: { code: 'services.engine', message: `create volume ${spec.name}: ${(err as Error).message}` } };
            }
          },
        },
      ],
    };
  },
});
