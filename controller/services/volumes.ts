// Mounts in Compose's short form ("name:/data", "/host/path:/data:ro", "/data") and long form.
// A named volume is qualified by the playbook ("demo_weblogs") like Compose qualifies it by the
// project, so two playbooks on one host never share a volume by accident. Bind sources are paths
// on the host: a relative path means nothing there, and is an error.
import type { Static } from '@sinclair/typebox';
import type { Mount } from '../../modules/service-spec.js';
import type { VolumeSpec as ComposeVolume } from '../../schema/compose.js';
import { parseBytes } from './units.js';

type Volume = Static<typeof ComposeVolume>;
export type MountResult = { ok: true; value: Mount } | { ok: false; message: string; hint?: string };

const MODES = new Set(['ro', 'rw', 'z', 'Z', 'cached', 'delegated', 'consistent', 'nocopy']);

export function parseVolume(v: Volume, qualify: (name: string) => string): MountResult {
  if (typeof v === 'object') return parseLong(v, qualify);
  const parts = v.split(':');
  let source: string | undefined;
  let target: string;
  let mode = '';
  if (parts.length === 1) target = parts[0];
  else if (parts.length === 2 && !parts[1].startsWith('/')) [target, mode] = parts;
  else if (parts.length === 2) [source, target] = parts;
  else if (parts.length === 3) [source, target, mode] = parts;
  else return { ok: false, message: `volume "${v}": expected [SOURCE:]TARGET[:MODE]` };
  if (!target.startsWith('/')) return { ok: false, message: `volume "${v}": the target "${target}" must be an absolute path in the container` };
  const modes = mode ? mode.split(',') : [];
  const unknown = modes.find((m) => !MODES.has(m));
  if (unknown) return { ok: false, message: `volume "${v}": unknown mode "${unknown}"`, hint: 'modes: ro, rw, z, Z, nocopy' };
  const readOnly = modes.includes('ro') || undefined;
  const selinux = modes.find((m) => m === 'z' || m === 'Z');
  if (source === undefined) return { ok: true, value: { type: 'volume', target, ...(readOnly ? { readOnly } : {}) } };
  if (isPath(source)) {
    const bad = relative(source, v);
    if (bad) return bad;
    return { ok: true, value: { type: 'bind', source, target, ...(readOnly ? { readOnly } : {}), ...(selinux ? { selinux } : {}), createHostPath: true } };
  }
  return { ok: true, value: { type: 'volume', source: qualify(source), target, ...(readOnly ? { readOnly } : {}), ...(modes.includes('nocopy') ? { nocopy: true } : {}) } };
}

function parseLong(v: Extract<Volume, object>, qualify: (name: string) => string): MountResult {
  const readOnly = v.read_only || undefined;
  const base = { target: v.target, ...(readOnly ? { readOnly } : {}) };
  if (v.type === 'tmpfs') {
    const size = v.tmpfs?.size === undefined ? undefined : parseBytes(v.tmpfs.size);
    return { ok: true, value: { type: 'tmpfs', ...base, ...(size !== undefined ? { tmpfsSize: size } : {}), ...(v.tmpfs?.mode !== undefined ? { tmpfsMode: v.tmpfs.mode } : {}) } };
  }
  if (v.type === 'bind') {
    if (!v.source) return { ok: false, message: `bind mount of ${v.target} needs a source (a path on the host)` };
    const bad = relative(v.source, v.source);
    if (bad) return bad;
    const b = v.bind ?? {};
    return {
      ok: true,
      value: { type: 'bind', source: v.source, ...base, createHostPath: b.create_host_path ?? true, ...(b.propagation ? { propagation: b.propagation } : {}), ...(b.selinux ? { selinux: b.selinux } : {}) },
    };
  }
  const nocopy = v.volume?.nocopy || undefined;
  return { ok: true, value: { type: 'volume', ...(v.source ? { source: qualify(v.source) } : {}), ...base, ...(nocopy ? { nocopy } : {}) } };
}

const isPath = (s: string) => s.startsWith('/') || s.startsWith('.') || s.startsWith('~');

function relative(source: string, text: string): MountResult | undefined {
  if (source.startsWith('/')) return undefined;
  return { ok: false, message: `volume "${text}": the host path "${source}" is relative, but bind mounts name a path on the host`, hint: 'write an absolute path (e.g. /srv/app/data), or copy the files there with a copy or file task' };
}
