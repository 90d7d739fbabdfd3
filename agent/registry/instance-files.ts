// The hand-off between the agent (which gates a container and asks for it to be registered) and
// the watcher (which keeps it registered while it is healthy): one file per instance that should
// be registered, and one status file per instance the watcher writes back.
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import type { HealthSpec } from '../health/spec.js';
import type { InstanceReport } from '../../protocol/agent-protocol.js';
import { readJson, readJsonDir, removeFile, writeJson } from './json-file.js';
import { fileName, instancesDir, statusDir } from './paths.js';

export interface InstanceFile {
  /** Unique on the host: the container's name. */
  id: string;
  /** Name in the registry. */
  service: string;
  container: string;
  containerId: string;
  /** Container port to advertise. */
  port: number;
  tags: string[];
  release: string;
  meta?: Record<string, string>;
  health: HealthSpec;
  ttlMs: number;
  /** Restart the container when it has been unhealthy this long (absent: never). */
  restartAfterMs?: number;
  /** When its gate passed: the watcher registers it at once instead of waiting for its own check. */
  gatedAt?: string;
  writtenAt: string;
}

/** The watcher's report on one instance: the protocol's InstanceReport plus what the agent needs. */
export interface InstanceStatus extends InstanceReport {
  containerId: string;
  updatedAt: string;
  /**
   * The registration this status is about (registrationKey of the instance file the watcher
   * monitors): the agent waiting on a registration it just wrote must not take the word of a
   * monitor still at work on the previous one. Absent in statuses of older watchers.
   */
  registration?: string;
}

export const instancePath = (id: string): string => join(instancesDir(), `${fileName(id)}.json`);
export const statusPath = (id: string): string => join(statusDir(), `${fileName(id)}.json`);

export const writeInstance = (f: InstanceFile): void => writeJson(instancePath(f.id), f);
export const readInstance = (id: string): InstanceFile | undefined => readJson<InstanceFile>(instancePath(id));
export const removeInstance = (id: string): boolean => removeFile(instancePath(id));
export const listInstances = (): InstanceFile[] => readJsonDir<InstanceFile>(instancesDir()).map((e) => e.value);

export const writeStatus = (s: InstanceStatus): void => writeJson(statusPath(s.id), s);
export const readStatus = (id: string): InstanceStatus | undefined => readJson<InstanceStatus>(statusPath(id));
export const removeStatus = (id: string): boolean => removeFile(statusPath(id));
export const listStatuses = (): InstanceStatus[] => readJsonDir<InstanceStatus>(statusDir()).map((e) => e.value);

/** What an instance file asks to be registered, when and how it was written aside. */
export function registrationKey({ writtenAt: _w, gatedAt: _g, ...rest }: InstanceFile): string {
  return createHash('sha256').update(JSON.stringify(Object.entries(rest).sort(([x], [y]) => x.localeCompare(y)))).digest('hex').slice(0, 16);
}

/** Whether two instance files ask for the same registration. */
export function sameRegistration(a: InstanceFile, b: InstanceFile): boolean {
  return registrationKey(a) === registrationKey(b);
}
