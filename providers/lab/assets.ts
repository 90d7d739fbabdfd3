// Files that ship with berth next to this code (entrypoint, sshd config, runc filter). They are
// read from the package folder so the bundled CLI and the sources see the same bytes.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../../controller/paths.js';

export const assetPath = (name: string): string => join(packageRoot(), 'providers', 'lab', 'assets', name);
export const readAsset = (name: string): string => readFileSync(assetPath(name), 'utf8');
