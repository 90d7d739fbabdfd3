// What a registry entry may hold. Instances travel from host to host (etcd, the embedded fleet
// view) and end up in configs other hosts render (haproxy.cfg, templates that list instances),
// so every field is a plain token of a known shape: nothing a host reports can add a line, a
// directive or a comment anywhere. The same patterns check the playbook keys that feed them
// (registration, registry, ambassador), so a bad value is refused at `berth validate`.
import { Type, type Static } from '@sinclair/typebox';
import { mapOf, patterned } from './common.js';

/** Service, host and instance names: what a container or inventory name may be. */
export const registryName = '[A-Za-z0-9][A-Za-z0-9_.-]{0,127}';
export const registryNameExpected = 'a name of letters, digits, ".", "_" and "-", starting with a letter or digit (128 at most)';

const octet = '(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])';
const ipv4 = `${octet}(?:\\.${octet}){3}`;
// The shape of an IPv6 address (hex groups and colons, an IPv4 tail allowed); net.isIP decides
// the rest where it matters. No zone (%eth0): it means nothing on another host.
const ipv6 = '[0-9A-Fa-f:]*:[0-9A-Fa-f:]*(?:\\.[0-9]{1,3}){0,3}';
const label = '[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?';
const hostname = `${label}(?:\\.${label})*\\.?`;
/** Where an instance is reached: an IPv4 or IPv6 address, or a DNS name. */
export const registryAddress = `(?:${ipv4}|${ipv6}|${hostname})`;
export const registryAddressExpected = 'an IPv4 or IPv6 address, or a host name';

/** Tags and releases: one word of printable characters that no config gives a meaning to. */
export const registryTag = '[A-Za-z0-9_.:=@/+-]{1,128}';
export const registryTagExpected = 'a word of letters, digits and "_.:=@/+-" (128 at most)';
const release = '[A-Za-z0-9_.:=@/+-]{0,128}';

const token = (p: string, expected: string) => Type.String({ pattern: `^${p}$`, expected });

export const ServiceInstanceSchema = Type.Object(
  {
    id: token(registryName, registryNameExpected),
    service: token(registryName, registryNameExpected),
    host: token(registryName, registryNameExpected),
    address: Type.String({ pattern: `^${registryAddress}$`, maxLength: 253, expected: registryAddressExpected }),
    port: Type.Integer({ minimum: 1, maximum: 65535, expected: 'a port from 1 to 65535' }),
    tags: Type.Array(token(registryTag, registryTagExpected), { maxItems: 64, expected: 'at most 64 tags' }),
    release: token(release, 'a release id of letters, digits and "_.:=@/+-" (128 at most)'),
    health: Type.Union([Type.Literal('passing'), Type.Literal('critical')], { expected: '"passing" or "critical"' }),
    registeredAt: Type.String({ pattern: '^[0-9TZ:.+-]{0,40}$', expected: 'an ISO time' }),
    meta: Type.Optional(
      Type.Record(Type.String({ pattern: '^[A-Za-z0-9_.-]{1,64}$' }), Type.String({ pattern: '^[^\\x00-\\x1f\\x7f]{0,1024}$' }), { additionalProperties: false, expected: 'names to single lines of text', maxProperties: 64 }),
    ),
  },
  { additionalProperties: false },
);

export type ServiceInstanceValue = Static<typeof ServiceInstanceSchema>;

// Playbook keys that become registry entries or ambassador settings: the same shapes, checked at
// `berth validate` (a value with a template is checked on the host once rendered).

/** A service or host name in the registry. */
export const RegistryNameParam = (description: string) => patterned(registryName, registryNameExpected, { description });

/** An address other hosts reach this one at, or an address to bind. */
export const RegistryAddressParam = (description: string) => patterned(registryAddress, registryAddressExpected, { description });

export const RegistryTagsParam = (description: string) => Type.Array(patterned(registryTag, registryTagExpected), { maxItems: 64, description });

export const RegistryReleaseParam = (description: string) => patterned(release, 'a release id of letters, digits and "_.:=@/+-" (128 at most)', { description });

export const RegistryMetaParam = (description: string) =>
  mapOf(patterned('[^\\x00-\\x1f\\x7f]{0,1024}', 'one line of text (1024 characters at most)'), { description, keyPattern: '^[A-Za-z0-9_.-]{1,64}$', keyExpected: 'a name of letters, digits, ".", "_" and "-" (64 at most)' });
