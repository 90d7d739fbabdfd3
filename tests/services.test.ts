// Services converged on real lab hosts (two, each with its own Docker Engine), every outcome
// checked with the engine's own `docker inspect` over ssh: the container spec, no-op runs that
// touch nothing, recreates that keep named volumes, scaling, sidecars in a service's network
// namespace, jobs, depends_on, orphans, and the fleet commands ps, logs, exec and run.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { LabHost } from './helpers/lab.js';
import { servicesLab, type ServicesLab } from './services-lab.js';

let sl: ServicesLab;
let h1: LabHost;
let h2: LabHost;

interface Knobs {
  greeting?: string;
  workers?: number;
  withWorker?: boolean;
}

/** The playbook under test: a web service with sidecars, a seed job, a client, workers, a backup job. */
function stack(k: Knobs = {}): string {
  const worker = k.withWorker === false ? '' : `
      worker:
        image: lab/busybox
        init: true
        command: [sleep, "3600"]
        replicas: ${k.workers ?? 3}`;
  return `name: shop
plays:
  - hosts: all
    services:
      seed:
        image: lab/busybox
        job: true
        command: [sh, -c, "echo hello from {{inventory_hostname}} > /www/index.html && echo seeded"]
        volumes: ["www:/www"]
      web:
        image: lab/busybox
        init: true
        command: [httpd, -f, -p, "8000", -h, /www]
        depends_on: { seed: { condition: service_completed_successfully } }
        working_dir: /www
        user: "1000:1000"
        ports: ["127.0.0.1:18080:8000", "18053:53/udp"]
        volumes: ["www:/www:ro", "/srv/shop:/host:ro", "/anon"]
        environment: { GREETING: ${k.greeting ?? 'hello'}, EMPTY: "" }
        env_file: shop.env
        read_only: true
        tmpfs: ["/tmp:size=1m"]
        cap_drop: [ALL]
        cap_add: [NET_BIND_SERVICE]
        security_opt: ["no-new-privileges:true"]
        mem_limit: 64m
        cpu_shares: 512
        cpus: 0.5
        pids_limit: 50
        ulimits: { nofile: { soft: 1024, hard: 2048 } }
        restart: unless-stopped
        logging: { driver: json-file, options: { max-size: 1m } }
        labels: { team: web }
        healthcheck: { test: [CMD, wget, -q, -O, /dev/null, "http://127.0.0.1:8000/"], interval: 2s, retries: 5 }
        stop_signal: SIGTERM
        stop_grace_period: 3s
        hostname: webhost
        extra_hosts: ["metadata:10.1.2.3"]
        networks: { default: { aliases: [www] } }
        sidecars:
          logs:
            image: lab/busybox
            init: true
            command: [tail, -F, /www/index.html]
            volumes_from: ["web:ro"]
          probe:
            image: lab/busybox
            init: true
            network_mode: "service:web"
            command: [sleep, "3600"]
      client:
        image: lab/busybox
        init: true
        command: [sleep, "3600"]
        depends_on: { web: { condition: service_healthy } }
      backup:
        image: lab/busybox
        job: true
        profiles: [manual]
        volumes_from: ["web:ro"]
        command: [sh, -c, "echo backing up; cat /www/index.html"]${worker}
`;
}

const ids = async (host: LabHost) => (await sl.containers(host)).join('\n');

test.before(async () => {
  sl = await servicesLab('services', 2);
  [h1, h2] = sl.hosts;
  sl.file('shop.env', '# from the controller\nFROM_FILE=yes\nGREETING=overridden by environment\n');
});

test.after(async () => {
  await sl?.down();
});

test('a service with everything docker run can say converges, as the engine itself reports it', async () => {
  const r = await sl.apply('shop', stack());
  assert.is(r.code, 0, r.stderr + JSON.stringify(r.events.filter((e) => e.status === 'failed')));
  assert.equal(r.changes('h1', 'service web'), ['create web.1 [missing]', 'create web/logs.1 [missing]', 'create web/probe.1 [missing]']);
  assert.equal(r.changes('h2', 'job seed'), ['run job seed.1 [missing]']);
  assert.ok(r.events.some((e) => e.type === 'output' && e.host === 'h2' && /seed\.1 \| seeded/.test(e.line)), 'the job\'s output is shown');

  const web = await sl.inspect(h1, 'shop-web-1');
  const hc = web.HostConfig;
  assert.equal([web.Config.User, web.Config.WorkingDir, web.Config.Hostname, web.Config.Cmd], ['1000:1000', '/www', 'webhost', ['httpd', '-f', '-p', '8000', '-h', '/www']]);
  assert.ok(web.Config.Env.includes('GREETING=hello') && web.Config.Env.includes('FROM_FILE=yes') && web.Config.Env.includes('EMPTY='), web.Config.Env.join(' '));
  assert.equal(hc.PortBindings, { '8000/tcp': [{ HostIp: '127.0.0.1', HostPort: '18080' }], '53/udp': [{ HostIp: '', HostPort: '18053' }] });
  const mounts = Object.fromEntries(web.Mounts.map((m: any) => [m.Destination, `${m.Type}:${m.Name ?? m.Source}:${m.RW ? 'rw' : 'ro'}`]));
  assert.is(mounts['/www'], 'volume:shop_www:ro');
  assert.is(mounts['/host'], 'bind:/srv/shop:ro');
  assert.match(mounts['/anon'], /^volume:[0-9a-f]{64}:rw$/);
  assert.equal([hc.ReadonlyRootfs, hc.Tmpfs, hc.CapDrop, hc.CapAdd, hc.SecurityOpt], [true, { '/tmp': 'size=1m' }, ['ALL'], ['NET_BIND_SERVICE'], ['no-new-privileges:true']]);
  assert.equal([hc.Memory, hc.CpuShares, hc.NanoCpus, hc.PidsLimit, hc.Init], [64 * 1024 * 1024, 512, 500_000_000, 50, true]);
  assert.equal(hc.Ulimits, [{ Name: 'nofile', Soft: 1024, Hard: 2048 }]);
  assert.equal(hc.RestartPolicy, { Name: 'unless-stopped', MaximumRetryCount: 0 });
  assert.equal(hc.LogConfig, { Type: 'json-file', Config: { 'max-size': '1m' } });
  assert.equal(hc.ExtraHosts, ['metadata:10.1.2.3']);
  assert.equal([web.Config.StopSignal, web.Config.StopTimeout], ['SIGTERM', 3]);
  assert.equal(web.Config.Healthcheck, { Test: ['CMD', 'wget', '-q', '-O', '/dev/null', 'http://127.0.0.1:8000/'], Interval: 2e9, Retries: 5 });
  const labels = web.Config.Labels;
  assert.equal([labels.team, labels['berth.playbook'], labels['berth.service'], labels['berth.replica']], ['web', 'shop', 'web', '1']);
  assert.match(labels['berth.config-hash'], /^[0-9a-f]{64}$/);
  assert.match(labels['berth.release'], /^[0-9a-f]{12}$/);
  assert.is(labels['berth.image'], (await sl.ssh(h1, 'docker image inspect lab/busybox --format {{.Id}}')).stdout);
  const aliases: string[] = web.NetworkSettings.Networks.shop_default.Aliases;
  assert.ok(aliases.includes('web') && aliases.includes('www'), aliases.join(' '));
  assert.is(web.State.Status, 'running');

  const probe = await sl.inspect(h1, 'shop-web-probe-1');
  assert.is(probe.HostConfig.NetworkMode, `container:${web.Id}`);
  assert.equal((await sl.inspect(h1, 'shop-web-logs-1')).HostConfig.VolumesFrom, [`${web.Id}:ro`]);
});

test('a sidecar in the service\'s network namespace reaches it on localhost; other services reach it by name and alias', async () => {
  assert.is((await sl.ssh(h1, 'docker exec shop-web-probe-1 wget -qO- http://127.0.0.1:8000/')).stdout, 'hello from h1');
  assert.is((await sl.ssh(h2, 'docker exec shop-client-1 wget -qO- http://www:8000/')).stdout, 'hello from h2');
  assert.is((await sl.ssh(h2, 'docker exec shop-client-1 wget -qO- http://web:8000/')).stdout, 'hello from h2');
  assert.is((await sl.ssh(h1, 'docker exec shop-web-logs-1 cat /www/index.html')).stdout, 'hello from h1', 'the logs sidecar has web\'s volumes');
});

test('depends_on service_healthy: the client was created only once web was healthy', async () => {
  const web = await sl.inspect(h1, 'shop-web-1');
  const client = await sl.inspect(h1, 'shop-client-1');
  const healthyAt = web.State.Health.Log.find((l: any) => l.ExitCode === 0)?.End ?? web.State.Health.Log[0].End;
  // Health checks every 2s: without waiting, the client would exist well before the first one.
  assert.ok(Date.parse(client.Created) >= Date.parse(web.State.StartedAt) + 1500, `client ${client.Created}, web started ${web.State.StartedAt}, first healthy ${healthyAt}`);
  assert.is(web.State.Health.Status, 'healthy');
});

test('an unchanged playbook changes nothing: every container keeps its id', async () => {
  const before = [await ids(h1), await ids(h2)];
  const r = await sl.apply('shop', stack());
  assert.is(r.code, 0, r.stderr);
  for (const h of ['h1', 'h2']) {
    const changed = Object.values(r.tasks(h)).filter((t) => t.status !== 'ok');
    assert.equal(changed.map((t) => `${t.name}: ${JSON.stringify(t.changes)}`), []);
  }
  assert.equal([await ids(h1), await ids(h2)], before);
});

test('check mode reports the recreate a changed environment needs, and changes nothing', async () => {
  const before = await ids(h1);
  const r = await sl.apply('shop', stack({ greeting: 'bonjour' }), ['--check', '--limit', 'h1']);
  assert.is(r.code, 0, r.stderr);
  assert.equal(r.changes('h1', 'service web'), [
    'remove web/probe.1 [web.1 is replaced (shares its network namespace)]',
    'recreate web.1 [config changed: environment]',
    'recreate web/logs.1 [web.1 is replaced (shares its volumes)]',
    'create web/probe.1 [web.1 is replaced (shares its network namespace)]',
  ]);
  assert.equal(await ids(h1), before);
});

test('a changed environment recreates web (and the sidecars tied to it); volumes, named and anonymous, keep their data', async () => {
  await sl.ssh(h1, 'docker exec -u 0 shop-web-1 sh -c "echo kept > /anon/file"');
  const old = await sl.inspect(h1, 'shop-web-1');
  const oldClient = await sl.inspect(h1, 'shop-client-1');
  const r = await sl.apply('shop', stack({ greeting: 'bonjour' }), ['--limit', 'h1']);
  assert.is(r.code, 0, r.stderr + JSON.stringify(r.events.filter((e) => e.status === 'failed')));
  const web = await sl.inspect(h1, 'shop-web-1');
  assert.is.not(web.Id, old.Id, 'a new container, never an edit of the old one');
  assert.ok(web.Config.Env.includes('GREETING=bonjour'));
  assert.is((await sl.ssh(h1, 'docker exec shop-web-1 cat /www/index.html')).stdout, 'hello from h1', 'the named volume kept its data (the seed job did not run again)');
  assert.is((await sl.ssh(h1, 'docker exec shop-web-1 cat /anon/file')).stdout, 'kept', 'the anonymous volume carried over');
  assert.is((await sl.inspect(h1, 'shop-web-probe-1')).HostConfig.NetworkMode, `container:${web.Id}`);
  assert.is((await sl.ssh(h1, 'docker exec shop-web-probe-1 wget -qO- http://127.0.0.1:8000/')).stdout, 'hello from h1');
  assert.is((await sl.inspect(h1, 'shop-client-1')).Id, oldClient.Id, 'a service that only depends on web is left alone');
  assert.equal(r.changes('h1', 'job seed'), []);
  assert.is((await sl.ssh(h1, 'docker ps -a --format "{{.Names}}" | grep -c new || true')).stdout, '0', 'no temporary container is left');
});

test('scale 3 -> 1 -> 2: the surplus goes first, survivors keep their ids', async () => {
  const names = async () => (await sl.ssh(h2, 'docker ps -a --filter label=berth.service=worker --format "{{.Names}} {{.ID}}" | sort')).stdout.split('\n').filter(Boolean);
  const three = await names();
  assert.equal(three.map((n) => n.split(' ')[0]), ['shop-worker-1', 'shop-worker-2', 'shop-worker-3']);
  const down = await sl.apply('shop', stack({ workers: 1 }), ['--limit', 'h2']);
  assert.is(down.code, 0, down.stderr);
  assert.equal(down.changes('h2', 'service worker'), ['remove worker.3 [scale to 1]', 'remove worker.2 [scale to 1]']);
  assert.equal(await names(), [three[0]]);
  const up = await sl.apply('shop', stack({ workers: 2 }), ['--limit', 'h2']);
  assert.equal(up.changes('h2', 'service worker'), ['create worker.2 [missing]']);
  const two = await names();
  assert.equal(two.map((n) => n.split(' ')[0]), ['shop-worker-1', 'shop-worker-2']);
  assert.is(two[0], three[0]);
});

test('a service gone from the playbook leaves no container behind (orphans), its volumes stay', async () => {
  const r = await sl.apply('shop', stack({ withWorker: false }), ['--limit', 'h2']);
  assert.is(r.code, 0, r.stderr);
  assert.equal(r.changes('h2', 'remove orphans'), ['remove worker.2 [service worker is no longer in the playbook]', 'remove worker.1 [service worker is no longer in the playbook]']);
  assert.is((await sl.ssh(h2, 'docker ps -aq --filter label=berth.service=worker | wc -l')).stdout, '0');
  assert.is((await sl.ssh(h2, 'docker volume ls -q --filter name=shop_www')).stdout, 'shop_www');
});

test('berth run: a backup job reads the service\'s volume on every host; its container is removed after', async () => {
  const r = await sl.cli(['run', 'backup', '-p', sl.file('shop.yml', stack({ withWorker: false })), '-i', sl.lab.inventoryPath]);
  assert.is(r.code, 0, r.stderr + r.stdout);
  const lines = r.stdout.split('\n').filter(Boolean).sort();
  assert.equal(lines, ['h1 | backing up', 'h1 | hello from h1', 'h2 | backing up', 'h2 | hello from h2']);
  assert.match(r.stderr, /h1 \| backup exited with 0/);
  for (const h of [h1, h2]) assert.is((await sl.ssh(h, 'docker ps -aq --filter label=berth.oneoff | wc -l')).stdout, '0');
});

test('berth ps, logs and exec across the fleet', async () => {
  const pb = sl.file('shop.yml', stack({ withWorker: false }));
  const ps = await sl.cli(['ps', '-p', pb, '-i', sl.lab.inventoryPath, '--json']);
  assert.is(ps.code, 0, ps.stderr);
  const rows = ps.stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l));
  const seen = rows.map((c) => `${c.host} ${c.service}${c.sidecar ? '/' + c.sidecar : ''}.${c.replica} ${c.state}${c.health ? ' ' + c.health : ''}`).sort();
  assert.equal(seen, [
    'h1 client.1 running',
    'h1 seed.1 exited',
    'h1 web.1 running healthy',
    'h1 web/logs.1 running',
    'h1 web/probe.1 running',
    'h1 worker.1 running',
    'h1 worker.2 running',
    'h1 worker.3 running',
    'h2 client.1 running',
    'h2 seed.1 exited',
    'h2 web.1 running healthy',
    'h2 web/logs.1 running',
    'h2 web/probe.1 running',
  ]);
  const web = rows.find((c) => c.host === 'h1' && c.service === 'web' && !c.sidecar);
  assert.equal(web.ports.sort(), ['0.0.0.0:18053->53/udp', '127.0.0.1:18080->8000/tcp']);
  assert.is(rows.find((c) => c.service === 'seed').exitCode, 0);

  const logs = await sl.cli(['logs', 'web/logs', '-p', pb, '-i', sl.lab.inventoryPath]);
  assert.is(logs.code, 0, logs.stderr);
  assert.equal(logs.stdout.split('\n').filter(Boolean).sort(), ['h1 web/logs.1 | hello from h1', 'h2 web/logs.1 | hello from h2']);

  const ex = await sl.cli(['exec', 'web.1', '--host', 'h2', '-p', pb, '-i', sl.lab.inventoryPath, '--', 'sh', '-c', 'echo $GREETING; id -u; exit 7']);
  assert.is(ex.code, 7);
  assert.equal(ex.stdout.split('\n').filter(Boolean), ['hello', '1000']);
  // A container's words cannot drive the operator's terminal: escape sequences come out escaped,
  // from exec as from logs (a line written to the log of the container's PID 1).
  const seq = await sl.cli(['exec', 'client', '--host', 'h1', '-p', pb, '-i', sl.lab.inventoryPath, '--', 'sh', '-c', "printf 'x \\033]0;pwned\\007\\n'; printf 'y \\033[2J\\302\\233\\n' > /proc/1/fd/1"]);
  assert.is(seq.code, 0, seq.stderr);
  assert.is(seq.stdout, 'x \\x1b]0;pwned\\x07\n');
  const logged = await sl.cli(['logs', 'client', '-p', pb, '-i', sl.lab.inventoryPath, '--limit', 'h1']);
  assert.is(logged.code, 0, logged.stderr);
  assert.ok(logged.stdout.includes('h1 client.1 | y \\x1b[2J\\x9b\n'), logged.stdout);
  assert.not.match(logged.stdout + seq.stdout, /[\x00-\x08\x0b-\x1f\x7f-\x9f]/);
  const none = await sl.cli(['exec', 'nosuch', '-p', pb, '-i', sl.lab.inventoryPath, '--', 'true']);
  assert.is(none.code, 1);
  assert.match(none.stderr, /no running container of nosuch on any of 2 hosts/);
});

test('a missing image fails the service clearly, and nothing else on the host changes', async () => {
  const before = await ids(h1);
  const r = await sl.apply('broken', 'name: shop\nplays:\n  - hosts: h1\n    services:\n      ghost: { image: lab/nothing-here, pull_policy: never }\n');
  assert.is(r.code, 1);
  assert.match(r.tasks('h1')['service ghost'].message, /image lab\/nothing-here is not on this host, and its pull_policy is never/);
  assert.equal(await ids(h1), before, 'the failure stopped the play before orphans were removed');
});

test.run();
