// The labels by which berth finds and judges its containers, volumes and networks. They are the
// only state berth keeps about services on a host: the next run reads them back, so a dead
// controller leaves nothing that the next run cannot converge.
export const L = {
  playbook: 'berth.playbook',
  service: 'berth.service',
  /** The sidecar's name; absent on a service's own container. */
  sidecar: 'berth.sidecar',
  replica: 'berth.replica',
  /** Short id of the service's release: its image and config hash. */
  release: 'berth.release',
  configHash: 'berth.config-hash',
  /** A short hash per spec key, so that a recreate can say what changed. */
  configKeys: 'berth.config-keys',
  /** The image id the container was created from. */
  image: 'berth.image',
  /** The image reference the spec names (the container itself is created from the id). */
  imageRef: 'berth.image-ref',
  /** Containers this one shares a namespace or volumes with, by id: they are fixed at create time. */
  links: 'berth.links',
  /** Set on containers of one-shot jobs. */
  job: 'berth.job',
  /** Set on on-demand runs (`berth run`): they are never replicas. */
  oneoff: 'berth.oneoff',
} as const;

/** Docker's filter syntax for "carries these labels (with these values)". */
export function labelFilter(labels: Record<string, string | true>): string {
  return JSON.stringify({ label: Object.entries(labels).map(([k, v]) => (v === true ? k : `${k}=${v}`)) });
}
