// The exec probe: a command run inside the container through the Engine API; exit 0 is healthy.
// Its output is kept (trimmed) because a failing check script usually says why.
import { PassThrough } from 'node:stream';
import type Docker from 'dockerode';
import type { ProbeOutcome } from './outcome.js';

const MAX_OUTPUT = 4096;

export async function execProbe(docker: Docker, container: string, argv: string[], timeoutMs: number): Promise<ProbeOutcome> {
  const what = `exec ${argv.join(' ')}`;
  let text = '';
  const collect = new PassThrough();
  collect.setEncoding('utf8').on('data', (d: string) => {
    if (text.length < MAX_OUTPUT) text += d;
  });
  try {
    const exec = await docker.getContainer(container).exec({ Cmd: argv, AttachStdout: true, AttachStderr: true });
    const stream = await exec.start({ hijack: true, stdin: false });
    docker.modem.demuxStream(stream, collect, collect);
    const ended = await new Promise<boolean>((resolve) => {
      // The command may outlive the timeout inside the container (Docker's own checks have the
      // same limit); the probe stops waiting and counts it as a failure.
      const timer = setTimeout(() => {
        stream.destroy();
        resolve(false);
      }, timeoutMs);
      const done = () => {
        clearTimeout(timer);
        resolve(true);
      };
      stream.once('end', done);
      stream.once('close', done);
      stream.once('error', done);
    });
    const out = text.trim().slice(-500);
    if (!ended) return { ok: false, output: `${what}: still running after ${timeoutMs} ms${out ? `: ${out}` : ''}` };
    const info = await exec.inspect();
    const code = info.ExitCode;
    return code === 0 ? { ok: true, output: `${what}: exit 0${out ? `: ${out}` : ''}` } : { ok: false, output: `${what}: exit ${code}${out ? `: ${out}` : ''}` };
  } catch (e) {
    return { ok: false, output: `${what}: ${(e as Error).message}` };
  }
}
