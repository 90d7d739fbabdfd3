// `service`: a systemd unit's running state and whether it starts at boot. Hosts without
// systemd (containers, lab hosts without --init systemd) get a clear failure rather than a
// guess at another init.
import { runArgv } from './command.js';
import { defineModule, failed, type Change, type PlanResult } from './contract.js';
import { capture } from './lib/exec.js';
import { serviceSchema, type ServiceParams } from './params/service.js';

export { serviceSchema, type ServiceParams };

export const service = defineModule({
  name: 'service',
  schema: serviceSchema,
  async plan(p, ctx) {
    if (ctx.facts.init !== 'systemd') return failed('service.unsupported', `not supported on this host: no systemd (init is ${ctx.facts.init})`);
    const unit = p.name;
    const show = await capture(['systemctl', 'show', unit, '--property=ActiveState,UnitFileState,LoadState,NeedDaemonReload']);
    if (show.code !== 0) return failed('service.query-failed', `systemctl show ${unit} failed`, show.stderr.trim() || show.spawnError);
    const props = Object.fromEntries(show.stdout.split('\n').filter(Boolean).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
    if (props.LoadState === 'not-found') return ctx.check ? wouldChange(p) : failed('service.not-found', `no unit named ${unit} on this host`);

    const systemctl = (...args: string[]) => () => runArgv(['systemctl', ...args], {}, ctx);
    const changes: Change[] = [];
    if (p.daemon_reload && props.NeedDaemonReload === 'yes') changes.push({ summary: 'systemctl daemon-reload', cause: `unit files of ${unit} changed on disk`, apply: systemctl('daemon-reload') });
    if (p.enabled !== undefined) {
      const enabled = props.UnitFileState === 'enabled' || props.UnitFileState === 'enabled-runtime';
      if (props.UnitFileState === 'static' || props.UnitFileState === 'masked') {
        if (p.enabled !== (props.UnitFileState === 'static')) return failed('service.cannot-enable', `${unit} is ${props.UnitFileState}: it cannot be ${p.enabled ? 'enabled' : 'disabled'}`);
      } else if (enabled !== p.enabled) {
        changes.push({ summary: `${p.enabled ? 'enable' : 'disable'} ${unit}`, cause: `is ${props.UnitFileState}`, apply: systemctl(p.enabled ? 'enable' : 'disable', unit) });
      }
    }
    const active = props.ActiveState === 'active' || props.ActiveState === 'activating' || props.ActiveState === 'reloading';
    switch (p.state) {
      case 'started':
        if (!active) changes.push({ summary: `start ${unit}`, cause: `is ${props.ActiveState}`, apply: systemctl('start', unit) });
        break;
      case 'stopped':
        if (active) changes.push({ summary: `stop ${unit}`, cause: `is ${props.ActiveState}`, apply: systemctl('stop', unit) });
        break;
      case 'restarted':
        changes.push({ summary: `restart ${unit}`, cause: 'restart requested', apply: systemctl('restart', unit) });
        break;
      case 'reloaded':
        // A stopped service is started rather than reloaded, as Ansible does.
        changes.push({ summary: `${active ? 'reload' : 'start'} ${unit}`, cause: 'reload requested', apply: systemctl(active ? 'reload-or-restart' : 'start', unit) });
        break;
    }
    return { ok: true, changes, data: { active: props.ActiveState, enabled: props.UnitFileState } };
  },
});

/**
 * In a check run an earlier task (a copy of the unit file, a package) has not really put the
 * unit on the host: say what would happen to it rather than fail the host.
 */
function wouldChange(p: ServiceParams): PlanResult {
  const cause = 'the unit is not on this host yet (an earlier task would put it there)';
  const start = p.state === 'started' || p.state === 'restarted' || p.state === 'reloaded';
  const summaries = [p.daemon_reload ? 'systemctl daemon-reload' : '', p.enabled ? `enable ${p.name}` : '', start ? `start ${p.name}` : ''].filter(Boolean);
  return { ok: true, changes: summaries.map((summary) => ({ summary, cause, apply: async () => failed('service.not-found', `no unit named ${p.name} on this host`) })) };
}
