// The `service` module's parameters: its schema alone, which the controller reads without the
// module's host-side code (modules/catalog.ts).
import { Type, type Static } from '@sinclair/typebox';
import { OneOf } from '../lib/schema.js';

export const serviceSchema = Type.Object(
  {
    name: Type.String({ minLength: 1, description: 'Unit name; ".service" is implied, e.g. nginx or docker.socket.' }),
    state: Type.Optional(
      OneOf(['started', 'stopped', 'restarted', 'reloaded'], 'started/stopped: only when not already so; restarted/reloaded: every run (use them in handlers).'),
    ),
    enabled: Type.Optional(Type.Boolean({ description: 'Start at boot.' })),
    daemon_reload: Type.Optional(Type.Boolean({ description: 'Run `systemctl daemon-reload` first when unit files changed on disk.' })),
  },
  { additionalProperties: false, description: 'Starts, stops, restarts or enables a systemd service.' },
);
export type ServiceParams = Static<typeof serviceSchema>;
