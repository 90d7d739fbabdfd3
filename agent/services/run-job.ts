// `services.run-job`: `berth run JOB`, one run of a job on demand. A fresh container from the
// job's current spec (never one of its replicas), its output streamed back line by line while it
// runs, removed once it ended; the exit code is the task's outcome.
import { defineModule } from '../../modules/contract.js';
import { RunJobSpec } from '../../modules/service-spec.js';
import { createRequest } from './create-options.js';
import { desiredContainers, linksLabel } from './desired.js';
import { engine, firstContainerOf } from './engine.js';
import { L } from './labels.js';
import { readLines } from './log-lines.js';
import { oneoffName } from './names.js';
import { imageFor } from './image.js';
import type { ContainerRef } from '../../modules/service-spec.js';

export const runJob = defineModule({
  name: 'services.run-job',
  schema: RunJobSpec,
  async plan(params, ctx) {
    const spec = { ...params.service, replicas: 1 };
    const e = await engine();
    if (!e.ok) return e;
    const d = e.docker;
    const img = await imageFor(d, spec.main.image, spec.build, undefined, ctx, spec.pull?.[spec.main.image]);
    if (!img.ok) return img;
    const want = desiredContainers({ ...spec, sidecars: [] }, new Map([[spec.main.image, img.image.id ?? '']]))[0];
    const name = oneoffName(spec);
    return {
      ok: true,
      changes: [
        ...img.image.changes,
        {
          summary: `run ${spec.service} (${name})`,
          cause: 'on demand',
          apply: async () => {
            const ids = new Map<ContainerRef, string>();
            for (const l of want.links) {
              const id = l.ref.kind === 'container' ? l.ref.name : await firstContainerOf(d, spec.playbook, l.ref.service);
              if (!id) return { ok: false, error: { code: 'services.link', message: `${spec.service} needs a container of ${l.ref.kind === 'container' ? l.ref.name : l.ref.service}, and there is none on this host` } };
              ids.set(l.ref, id);
            }
            const labels = {
              [L.playbook]: spec.playbook,
              [L.service]: spec.service,
              [L.replica]: '0',
              [L.oneoff]: 'true',
              [L.job]: 'true',
              [L.configHash]: want.hash,
              [L.image]: img.image.result() ?? '',
              [L.imageRef]: spec.main.image,
              [L.links]: linksLabel(want.links.map((l) => ({ kind: l.kind, id: ids.get(l.ref) ?? '' }))),
            };
            const req = createRequest(want, { name, labels, idOf: (r) => ids.get(r) ?? '' });
            if (labels[L.image].startsWith('sha256:')) req.body.Image = labels[L.image];
            // A run is a one-off: it must not restart on its own, whatever the job's policy says.
            (req.body.HostConfig as Record<string, unknown>).RestartPolicy = { Name: 'no' };
            const c = await d.createContainer(req.body);
            try {
              for (const n of req.connect) await d.getNetwork(n.network).connect({ Container: c.id, EndpointConfig: n.endpoint });
              // Attached before the start, so there is nothing to replay: `logs: true` made dockerd
              // replay from the log file while the live stream ran, and a fast job's lines came twice.
              const stream = (await c.attach({ stream: true, stdout: true, stderr: true, logs: false })) as NodeJS.ReadableStream;
              const reading = readLines(d, stream, want.spec.tty === true, (s, line) => ctx.output(s, line));
              await c.start();
              const { StatusCode: code } = (await c.wait({ abortSignal: ctx.signal } as object)) as { StatusCode: number };
              await Promise.race([reading, new Promise((r) => setTimeout(r, 2000))]);
              if (code !== 0) return { ok: false, error: { code: 'services.job-failed', message: `${spec.service} exited with ${code}` }, data: { exit_code: code } };
              return { ok: true, data: { exit_code: 0 } };
            } catch (err) {
              if (ctx.signal.aborted) return { ok: false, error: { code: 'services.cancelled', message: `${spec.service}: cancelled; the run was stopped` } };
              return { ok: false, error: { code: 'services.engine', message: `run ${spec.service}: ${(err as Error).message}` } };
            } finally {
              await c.remove({ force: true }).catch(() => {});
            }
          },
        },
      ],
    };
  },
});
