// The `wait-for` module's parameters: its schema alone, which the controller reads without the
// module's host-side code (modules/catalog.ts).
import { Type, type Static } from '@sinclair/typebox';
import { OneOf } from '../lib/schema.js';

const Duration = (description: string) => Type.Union([Type.String({ minLength: 1 }), Type.Number({ minimum: 0 })], { description: `${description} A duration like "30s" or "2m", or seconds.` });

export const waitForSchema = Type.Object(
  {
    port: Type.Optional(Type.Integer({ minimum: 1, maximum: 65535, description: 'TCP port to wait for.' })),
    host: Type.Optional(Type.String({ minLength: 1, description: 'Address the port is on (default 127.0.0.1), seen from the host.' })),
    path: Type.Optional(Type.String({ minLength: 1, description: 'File to wait for, instead of a port.' })),
    search_regex: Type.Optional(Type.String({ minLength: 1, description: 'With path: wait until the file\'s content matches this regular expression.' })),
    state: Type.Optional(
      OneOf(['started', 'stopped', 'present', 'absent'], 'started/present: wait until the port accepts connections or the path exists (default); stopped/absent: until it refuses or is gone.'),
    ),
    timeout: Type.Optional(Duration('Give up and fail after this long (default 300s).')),
    delay: Type.Optional(Duration('Wait this long before the first look.')),
    sleep: Type.Optional(Duration('Time between looks (default 0.5s).')),
  },
  { additionalProperties: false, description: 'Waits until a port opens or closes, or a file appears or goes away.' },
);
export type WaitForParams = Static<typeof waitForSchema>;
