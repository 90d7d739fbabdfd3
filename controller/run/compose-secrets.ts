// The secrets of a run's Compose files (their top-level `secrets:`), as values to mask: like the
// playbook's own secrets they are masked in every event, and a host is told to mask only those
// its plan ships (controller/run/plan-secrets.ts finds them in the content it fetches). They are
// not berth vars: no template can name them.
import { readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { PlaybookShape } from './playbook-shape.js';
import { playServices } from '../services/play-services.js';

export function composeSecretValues(playbook: PlaybookShape, playbookPath: string, where: (path: Array<string | number>) => string): Record<string, string> {
  const out: Record<string, string> = {};
  playbook.plays.forEach((play, i) => {
    if (!(play as { compose?: unknown }).compose) return;
    const found = playServices(play, dirname(playbookPath), (p) => where(['plays', i, ...p]));
    // A Compose file that cannot be read fails the plan, which says why.
    if (!found.ok) return;
    for (const mounts of Object.values(found.value.shipped)) {
      for (const m of mounts) {
        if (m.kind !== 'secret') continue;
        let value = m.content;
        try {
          value ??= readFileSync(m.files[0].abs, 'utf8');
        } catch {
          continue;
        }
        // As a secret read from a file: its last line break is no part of it.
        value = value.replace(/\r?\n$/, '');
        if (value !== '') out[`compose secret ${m.name} (play ${i + 1})`] = value;
      }
    }
  });
  return out;
}
