// The `package` module's parameters: its schema alone, which the controller reads without the
// module's host-side code (modules/catalog.ts).
import { Type, type Static } from '@sinclair/typebox';
import { OneOf } from '../lib/schema.js';

export const packageSchema = Type.Object(
  {
    name: Type.Optional(
      Type.Union([Type.String({ minLength: 1 }), Type.Array(Type.String({ minLength: 1 }))], {
        description: 'Package name or list of names; apt accepts a pinned version as "name=1.2-3".',
      }),
    ),
    state: Type.Optional(
      OneOf(['present', 'absent', 'latest'], 'present: installed (default); absent: removed; latest: installed at the newest version the lists know.'),
    ),
    update_cache: Type.Optional(Type.Boolean({ description: 'Refresh the package lists (apt-get update) before installing, when they are older than cache_valid_time (always, without it). A task with no name reports a due refresh as its change; one whose packages are all in place skips the refresh.' })),
    cache_valid_time: Type.Optional(
      Type.Union([Type.String({ minLength: 1 }), Type.Integer({ minimum: 0 })], { description: 'With update_cache: refresh only when the lists are older than this ("1h", or seconds).' }),
    ),
    repo: Type.Optional(
      Type.String({ minLength: 1, description: 'An apt source line (e.g. "deb [trusted=yes] file:/srv/berth-apt ./"), kept in /etc/apt/sources.list.d/berth-<hash>.list.' }),
    ),
    install_recommends: Type.Optional(Type.Boolean({ description: 'Install recommended packages too (default: the package manager\'s own setting).' })),
    purge: Type.Optional(Type.Boolean({ description: 'With state absent: also remove configuration files (apt purge).' })),
  },
  { additionalProperties: false, description: 'Installs, upgrades or removes system packages (apt; dnf and apk untested).' },
);
export type PackageParams = Static<typeof packageSchema>;
