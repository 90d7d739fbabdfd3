// What a host may say about itself in its hello. Facts are in every template's scope, and
// templates name files on the controller (a copy's src, a build context): so a host is
// untrusted here like everywhere else. Every string has a bound, and the names a playbook puts
// into paths (os id and version, arch, hostname, user) can hold no "/" and cannot be "." or "..".
// The controller checks a hello against this schema before anything of it reaches a template
// (controller/agent/check-facts.ts); the agent gathers them in agent/facts.ts.
import { Type, type Static } from '@sinclair/typebox';

/** Letters, digits, ".", "_", "-" (and `more`), starting with a letter or digit: one path component at most. */
const name = (maxLength: number, more = '', description?: string) => Type.String({ minLength: 1, maxLength, pattern: `^[A-Za-z0-9][A-Za-z0-9._${more}-]*$`, description });
const optionalName = (maxLength: number, more = '', description?: string) => Type.String({ maxLength, pattern: `^(?:[A-Za-z0-9][A-Za-z0-9._${more}-]*)?$`, description });
/** Free text for people (an OS's pretty name): no control characters. */
const text = (maxLength: number) => Type.String({ maxLength, pattern: '^[^\\u0000-\\u001f\\u007f-\\u009f]*$' });
const count = (maximum = Number.MAX_SAFE_INTEGER) => Type.Integer({ minimum: 0, maximum });

export const HostFactsSchema = Type.Object(
  {
    hostname: name(253),
    os: Type.Object(
      {
        id: name(64, '', 'os-release ID: lower-case letters, digits, ".", "_", "-".'),
        version: optionalName(64, '+~', 'os-release VERSION_ID; empty when the release has none.'),
        name: text(256),
        family: Type.Union([Type.Literal('debian'), Type.Literal('redhat'), Type.Literal('alpine'), Type.Literal('unknown')]),
      },
      { additionalProperties: false },
    ),
    arch: name(32),
    kernel: name(128, '+~'),
    cpus: count(1 << 20),
    memoryBytes: count(),
    disk: Type.Object({ path: Type.String({ maxLength: 4096, pattern: '^/[^\\u0000-\\u001f\\u007f]*$' }), totalBytes: count(), freeBytes: count() }, { additionalProperties: false }),
    init: Type.Union([Type.Literal('systemd'), Type.Literal('openrc'), Type.Literal('none'), Type.Literal('unknown')]),
    // `@` for directory users (sssd's user@domain), a trailing `$` for machine accounts.
    user: Type.Object({ name: Type.String({ minLength: 1, maxLength: 128, pattern: '^[A-Za-z0-9_][A-Za-z0-9._@-]*\\$?$' }), uid: count(0xffffffff) }, { additionalProperties: false }),
    node: name(32, '+'),
    runtime: Type.Object(
      { installed: Type.Boolean(), engine: Type.Optional(Type.Literal('docker')), version: Type.Optional(name(64, '+~')), running: Type.Optional(Type.Boolean()) },
      { additionalProperties: false },
    ),
    containers: Type.Array(
      Type.Object(
        {
          id: Type.String({ minLength: 1, maxLength: 64, pattern: '^[0-9a-f]+$' }),
          name: optionalName(255),
          service: optionalName(255),
          release: Type.Optional(optionalName(128, ':')),
          state: Type.String({ minLength: 1, maxLength: 32, pattern: '^[a-z]+$' }),
        },
        { additionalProperties: false },
      ),
      { maxItems: 10_000, description: 'Containers carrying berth\'s labels, as the runtime reports them (empty without a runtime).' },
    ),
    images: Type.Optional(
      Type.Array(Type.String({ pattern: '^sha256:[0-9a-f]{64}$' }), {
        maxItems: 100_000,
        description: 'IDs of the images the runtime has: an image shipped from the controller is not saved again for a host that has it.',
      }),
    ),
    time: Type.String({ maxLength: 40, pattern: '^\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d(?:\\.\\d+)?Z$', description: 'Clock of the host, to spot skew.' }),
  },
  { additionalProperties: false },
);

export type HostFacts = Static<typeof HostFactsSchema>;
