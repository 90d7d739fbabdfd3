// Container names: `<playbook>-<service>-<replica>` and `<playbook>-<service>-<sidecar>-<replica>`,
// like Compose's `<project>-<service>-<n>`. Names are for people; berth finds its containers by
// their labels, so a renamed container is still recognised (and renamed back by a recreate).
import { randomBytes } from 'node:crypto';
import type { ServiceSpec } from '../../modules/service-spec.js';

/** The role of a container in its service: '' for the service's own, else the sidecar's name. */
export type Role = string;

export function containerName(s: Pick<ServiceSpec, 'playbook' | 'service' | 'containerName'>, role: Role, replica: number): string {
  if (role === '' && s.containerName) return s.containerName;
  return role === '' ? `${s.playbook}-${s.service}-${replica}` : `${s.playbook}-${s.service}-${role}-${replica}`;
}

/** A name for a container that replaces another: it takes the real name once the old one is gone. */
export const tempName = (name: string) => `${name}-new-${randomBytes(3).toString('hex')}`;

/** An on-demand run of a job: never mistaken for a replica. */
export const oneoffName = (s: Pick<ServiceSpec, 'playbook' | 'service'>) => `${s.playbook}-${s.service}-run-${randomBytes(3).toString('hex')}`;

/** How a person refers to a container of a service: `web.2`, `web/logs.2`. */
export const displayName = (service: string, role: Role, replica: number) => (role ? `${service}/${role}.${replica}` : `${service}.${replica}`);
