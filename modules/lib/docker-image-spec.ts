// What the controller sends for an image, once it prepared it (controller/prepare/image.ts and
// controller/images/), and what the agent acts on (agent/docker/). Plain data: content travels
// as hashes the agent fetches only when it must (a build context when the image is missing, the
// layers a host lacks).

/** One entry of a build context. Modes are normalised (0644/0755) so the hash depends on content. */
export type ContextEntry =
  | { type: 'file'; path: string; mode: number; sha256: string; size: number }
  | { type: 'dir'; path: string; mode: number }
  | { type: 'symlink'; path: string; target: string };

export interface ScannedContext {
  entries: ContextEntry[];
  /** Bytes of all files. */
  bytes: number;
  /** sha256 over every entry (path, kind, mode, content hash or link target). */
  hash: string;
}

export interface BuildSpec {
  /**
   * controller: the files, by content hash (fetched only when the image must be built);
   * host: a directory on the host itself (like Ansible's remote_src), scanned there.
   */
  context: ({ from: 'controller' } & ScannedContext) | { from: 'host'; path: string };
  /** Where the context came from, for messages: `apps/web`. */
  origin: string;
  /** Dockerfile path inside the context. */
  dockerfile: string;
  args: Record<string, string>;
  target?: string;
  labels: Record<string, string>;
  /**
   * Images the Dockerfile builds FROM (ARGs substituted, stage names left out). The host mixes
   * their IDs into the image's tag: a new base means a new build.
   */
  bases: string[];
  /** sha256 over context + Dockerfile path + args + target + labels (controller contexts). */
  hash?: string;
}

/** An image built (or found) on the controller's engine, shipped layer by layer over SSH. */
export interface ShippedImage {
  /** Image ID (sha256:...), the sha256 of its config. */
  id: string;
  config: { sha256: string; size: number };
  /**
   * Layers: diffId names the content (the sha256 of the uncompressed tar, which is also what a
   * host's engine knows it by); `blob`, when present, is the gzip form the controller sends
   * instead (docker load takes compressed layer tars), else the uncompressed tar is sent, by
   * its diff ID. `size` is the uncompressed size.
   */
  layers: Array<{ diffId: string; size: number; blob?: { sha256: string; size: number } }>;
  /** Tags the image carries on the host after loading (the content tag of a berth build). */
  tags: string[];
  origin: string;
}

export interface RegistryAuth {
  username: string;
  password: string;
  /** Registry these credentials are for (default: the registry of the image reference). */
  registry?: string;
}

export type ImageSource =
  | { kind: 'build'; build: BuildSpec }
  | { kind: 'ship'; image: ShippedImage }
  /** From a registry: always (check the registry's digest each run), missing, never. */
  | { kind: 'registry'; pull: 'always' | 'missing' | 'never' };

export interface ImageSpec {
  /** What the playbook calls the image: "lab/busybox", "registry:5000/team/web:1.2", "web". */
  name: string;
  source: ImageSource;
  /** Also tag the resolved image as `name` (the image module); services refer to IDs only. */
  tagName: boolean;
  auth?: RegistryAuth;
  /** Keep the newest `keep` berth-built images of this name on the host, remove older ones. */
  keep?: number;
}

export interface PushSpec {
  registry: string;
  /** Repository path in the registry (default: the image's name without registry and tag). */
  repository?: string;
  /** Tag (default: the content-hash tag of a build, else the name's tag or latest). */
  tag?: string;
  auth?: RegistryAuth;
}

/** The image module's parameters as the agent receives them. */
export interface PreparedImageParams {
  state: 'present' | 'absent';
  spec: ImageSpec;
  push?: PushSpec;
}

/**
 * A service's `build:` as the controller prepared it (ServiceSpec.build): the same ImageSpec an
 * `image` task with that build gets, named by the service's image (`image:`, else Compose's
 * `<project>-<service>`).
 */
export interface ServiceBuild {
  image: ImageSpec;
  /**
   * `image:` names the image too, and pull_policy is not `build`: as in Compose, an image of that
   * name the host has and berth did not build (no `berth.image` label) is used as it is.
   */
  preferExisting: boolean;
}

export const isServiceBuild = (v: unknown): v is ServiceBuild =>
  typeof v === 'object' && v !== null && typeof (v as ServiceBuild).image === 'object' && (v as ServiceBuild).image !== null && typeof (v as ServiceBuild).image.source === 'object';

/** The image as the host has it, once resolved: services refer to `id`, never to a tag. */
export interface ResolvedImage {
  id: string;
  /** The reference that names this exact content (the content tag of a build, or name). */
  ref: string;
  /** repository@sha256 digests, from a registry pull or push. */
  digests: string[];
  tags: string[];
}

/** Labels berth puts on the images it builds; retention finds them by `berth.image`. */
export const LABEL_IMAGE = 'berth.image';
export const LABEL_CONTEXT_HASH = 'berth.context-hash';
export const LABEL_SOURCE = 'berth.source';

/** Default number of images kept per name. */
export const DEFAULT_KEEP = 5;

/**
 * A reference split into registry host, repository path and tag. The first component is a
 * registry when it has a dot or a colon, or is localhost (Docker's own rule).
 */
export function splitRef(ref: string): { registry?: string; repository: string; tag?: string; digest?: string } {
  let rest = ref;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
  }
  let registry: string | undefined;
  const slash = rest.indexOf('/');
  if (slash > 0) {
    const first = rest.slice(0, slash);
    if (first.includes('.') || first.includes(':') || first === 'localhost') {
      registry = first;
      rest = rest.slice(slash + 1);
    }
  }
  const colon = rest.lastIndexOf(':');
  const tag = colon > 0 && !rest.slice(colon).includes('/') ? rest.slice(colon + 1) : undefined;
  const repository = tag === undefined ? rest : rest.slice(0, colon);
  return { registry, repository, tag, digest };
}

/** The repository an image name stands for (registry and tag left out): the retention key. */
export const repositoryOf = (name: string): string => splitRef(name).repository;

/** The tag naming a build's content: berth/<repository>:<first 12 hex digits>. */
export const contentTag = (name: string, hash: string): string => `berth/${repositoryOf(name).toLowerCase()}:${hash.slice(0, 12)}`;
