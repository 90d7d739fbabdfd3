// After interpolation every value is text; Compose turns the text back into the number or
// boolean a key takes, by the key's path (compose-go's interpolateTypeCastMapping). So
// `replicas: ${N}` and `read_only: "true"` mean 3 and true, as they do for `docker compose`.

type Cast = (text: string) => { ok: true; value: number | boolean } | { ok: false; expected: string };

const toInt: Cast = (t) => (/^[-+]?\d+$/.test(t.trim()) ? { ok: true, value: Number(t.trim()) } : { ok: false, expected: 'a whole number' });
const toFloat: Cast = (t) => (t.trim() !== '' && Number.isFinite(Number(t.trim())) ? { ok: true, value: Number(t.trim()) } : { ok: false, expected: 'a number' });
// YAML 1.1's yes/no/on/off still count, as in compose-go (which warns about them).
const toBool: Cast = (t) => {
  const v = t.trim().toLowerCase();
  if (['true', 'y', 'yes', 'on'].includes(v)) return { ok: true, value: true };
  if (['false', 'n', 'no', 'off'].includes(v)) return { ok: true, value: false };
  return { ok: false, expected: 'true or false' };
};

// `*` is any key of a mapping, `[]` any item of a list.
const table: Array<[string, Cast]> = [
  ['services.*.cpu_count', toInt],
  ['services.*.cpu_percent', toFloat],
  ['services.*.cpu_period', toInt],
  ['services.*.cpu_quota', toInt],
  ['services.*.cpu_rt_period', toInt],
  ['services.*.cpu_rt_runtime', toInt],
  ['services.*.cpus', toFloat],
  ['services.*.cpu_shares', toInt],
  ['services.*.init', toBool],
  ['services.*.depends_on.*.required', toBool],
  ['services.*.depends_on.*.restart', toBool],
  ['services.*.deploy.replicas', toInt],
  ['services.*.deploy.update_config.parallelism', toInt],
  ['services.*.deploy.update_config.max_failure_ratio', toFloat],
  ['services.*.deploy.rollback_config.parallelism', toInt],
  ['services.*.deploy.rollback_config.max_failure_ratio', toFloat],
  ['services.*.deploy.restart_policy.max_attempts', toInt],
  ['services.*.deploy.placement.max_replicas_per_node', toInt],
  ['services.*.healthcheck.retries', toInt],
  ['services.*.healthcheck.disable', toBool],
  ['services.*.oom_kill_disable', toBool],
  ['services.*.oom_score_adj', toInt],
  ['services.*.pids_limit', toInt],
  ['services.*.ports.[].target', toInt],
  ['services.*.privileged', toBool],
  ['services.*.read_only', toBool],
  ['services.*.scale', toInt],
  ['services.*.stdin_open', toBool],
  ['services.*.tty', toBool],
  ['services.*.ulimits.*', toInt],
  ['services.*.ulimits.*.hard', toInt],
  ['services.*.ulimits.*.soft', toInt],
  ['services.*.volumes.[].read_only', toBool],
  ['services.*.volumes.[].volume.nocopy', toBool],
  ['networks.*.external', toBool],
  ['networks.*.internal', toBool],
  ['networks.*.attachable', toBool],
  ['networks.*.enable_ipv4', toBool],
  ['networks.*.enable_ipv6', toBool],
  ['volumes.*.external', toBool],
  ['secrets.*.external', toBool],
  ['configs.*.external', toBool],
];

const patterns = table.map(([p, cast]) => ({ parts: p.split('.'), cast }));

/** The cast for a value at this path, if its key takes a number or a boolean. */
export function castFor(path: ReadonlyArray<string | number>): Cast | undefined {
  for (const { parts, cast } of patterns) {
    if (parts.length !== path.length) continue;
    if (parts.every((p, i) => (p === '[]' ? typeof path[i] === 'number' : p === '*' ? typeof path[i] === 'string' : p === path[i]))) return cast;
  }
  return undefined;
}
