/**
 * The CLI's build (scripts/cli-build-options.mjs): dist/flanprov.cjs with etcd3 in a chunk of its own,
 * dist/etcd3.cjs, whose gRPC service definitions are embedded at build time (scripts/etcd3-embed.mjs) for
 * the services in CLI_ETCD_SERVICES only. Checked here:
 * - every etcd3 call the CLI's code makes (found with the type checker: each property whose declaration is
 *   etcd3's) reaches a service the CLI's list embeds, and the agent's calls one the agent's list embeds;
 * - the chunk, built as the build builds it, makes each of those calls over the wire: a gRPC server with the
 *   full rpc.proto (proto-loader, as etcd3 itself would load it) sees every one arrive;
 * - `--version`, `--help` and `render` of the built CLI never evaluate the chunk.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { build, type BuildOptions } from 'esbuild';
import ts from 'typescript';
import type { Etcd3 } from 'etcd3';

const ROOT = join(__dirname, '..', '..', '..');
const PROTO_DIR = join(ROOT, 'node_modules/etcd3/proto');

interface EmbedModule {
  AGENT_ETCD_SERVICES: string[];
  CLI_ETCD_SERVICES: string[];
  leanEtcdProto(protoDir: string, services: string[]): { methods: [string, [string, string, string, string, boolean, boolean][]][] };
}
interface CliBuildModule { cliBuildOptions(root: string): BuildOptions; etcd3ChunkOptions(root: string): BuildOptions }
const embed = (): Promise<EmbedModule> => import(join(ROOT, 'scripts/etcd3-embed.mjs')) as Promise<EmbedModule>;

// under the checkout, so the bundle finds node_modules and templates/ as dist/ does
let dir = '';
before(async () => {
  dir = mkdtempSync(join(ROOT, '.flanprov-bundle-test-'));
  const { cliBuildOptions, etcd3ChunkOptions } = (await import(join(ROOT, 'scripts/cli-build-options.mjs'))) as CliBuildModule;
  await build({ ...etcd3ChunkOptions(ROOT), outfile: join(dir, 'etcd3.cjs'), logLevel: 'silent' });
  await build({ ...cliBuildOptions(ROOT), outfile: join(dir, 'flanprov.cjs'), logLevel: 'silent' });
});
after(() => rmSync(dir, { recursive: true, force: true }));

/** The src/ files an entry's bundle holds (esbuild metafile; packages and the .sh/schema virtual modules left out). */
async function graph(entry: string): Promise<string[]> {
  const r = await build({
    entryPoints: [join(ROOT, entry)], bundle: true, write: false, metafile: true, platform: 'node', packages: 'external', logLevel: 'silent',
    plugins: [{ name: 'leave-out', setup(b) { b.onResolve({ filter: /\.sh$|host-vars-validator-plugin/ }, (a) => ({ path: a.path, external: true })); } }],
  });
  return Object.keys(r.metafile.inputs).filter((f) => f.startsWith('src/')).map((f) => join(ROOT, f));
}

/**
 * What etcd3's own (non-RPC) members that our code uses call on the wire. A member missing here fails the
 * test: say which service methods it reaches (read etcd3/lib/*.js) before the check can pass.
 */
const HIGH_LEVEL: Record<string, string[]> = {
  // the RPC clients themselves: their methods (rpc.d.ts *Client) are the calls
  'Namespace.kv': [], 'Namespace.leaseClient': [], 'Namespace.watchClient': [],
  'Etcd3.cluster': [], 'Etcd3.maintenance': [], 'Etcd3.auth': [],
  'Etcd3.close': [],
  // watch(): the builder opens one Watch stream per client, watchers ride on it
  'Namespace.watch': ['Watch.watch'], 'WatchBuilder.key': [], 'WatchBuilder.prefix': [], 'WatchBuilder.startRevision': [],
  'WatchBuilder.watcher': ['Watch.watch'], 'WatchBuilder.create': ['Watch.watch'], 'Watcher.on': [], 'Watcher.cancel': ['Watch.watch'],
  // a user name makes etcd3 fetch a token before its first call
  'IOptions.auth': ['Auth.authenticate'], 'IOptions.credentials': [],
};

/** `Service.method` (etcd3's name of the gRPC method: proto-loader's originalName) per src file, with where it is used. */
function etcd3Calls(files: string[]): Map<string, Map<string, string>> {
  const cfg = ts.parseJsonConfigFileContent(ts.readConfigFile(join(ROOT, 'tsconfig.json'), ts.sys.readFile).config, ts.sys, ROOT);
  const program = ts.createProgram(files, { ...cfg.options, noEmit: true });
  const checker = program.getTypeChecker();
  const out = new Map<string, Map<string, string>>();
  for (const f of files) {
    const calls = new Map<string, string>();
    out.set(f, calls);
    const sf = program.getSourceFile(f)!;
    const visit = (n: ts.Node): void => {
      if (ts.isPropertyAccessExpression(n) || ts.isPropertyAssignment(n) || ts.isShorthandPropertyAssignment(n)) {
        const d = checker.getSymbolAtLocation(n.name)?.declarations?.[0];
        const file = d?.getSourceFile().fileName ?? '';
        if (d && /node_modules\/etcd3\/lib\//.test(file)) {
          const owner = ts.isClassDeclaration(d.parent) || ts.isInterfaceDeclaration(d.parent) ? d.parent.name?.text ?? '' : '';
          const member = `${owner}.${n.name.getText()}`;
          const where = `${f.slice(ROOT.length + 1)}:${sf.getLineAndCharacterOfPosition(n.getStart()).line + 1} ${member}`;
          const rpc = /^(KV|Watch|Lease|Cluster|Maintenance|Auth)Client$/.exec(owner);
          // rpc.d.ts's interfaces (IRangeResponse, ...) are message shapes, not calls
          const dataShape = file.endsWith('/rpc.d.ts') && !rpc;
          if (rpc) calls.set(`${rpc[1]}.${n.name.getText()}`, where);
          else if (!dataShape) {
            const via = HIGH_LEVEL[member];
            assert.ok(via, `${where}: an etcd3 member this test does not know; add what it calls to HIGH_LEVEL`);
            for (const c of via) calls.set(c, where);
          }
        }
      }
      ts.forEachChild(n, visit);
    };
    visit(sf);
  }
  return out;
}

function embedded(m: EmbedModule, services: string[]): Set<string> {
  return new Set(m.leanEtcdProto(PROTO_DIR, services).methods.flatMap(([svc, list]) => list.map(([, originalName]) => `${svc.replace('etcdserverpb.', '')}.${originalName}`)));
}

let cliCalls: Map<string, string> | undefined;

test('every etcd3 call of the CLI and of the agent is embedded in its build; the agent\'s list lacks the CLI\'s member calls', async () => {
  const m = await embed();
  const [cli, agent] = [await graph('src/cli/main.ts'), await graph('src/agent/main.ts')];
  const calls = etcd3Calls([...new Set([...cli, ...agent])]);
  const of = (files: string[]): Map<string, string> => new Map(files.flatMap((f) => [...calls.get(f)!]));
  cliCalls = of(cli);
  const agentCalls = of(agent);
  const missing = (used: Map<string, string>, services: string[]): string[] => {
    const have = embedded(m, services);
    return [...used].filter(([c]) => !have.has(c)).map(([, where]) => where);
  };
  assert.deepEqual(missing(cliCalls, m.CLI_ETCD_SERVICES), [], 'CLI calls outside CLI_ETCD_SERVICES');
  assert.deepEqual(missing(agentCalls, m.AGENT_ETCD_SERVICES), [], 'agent calls outside AGENT_ETCD_SERVICES');
  // the check sees calls: the CLI's etcd member management (etcd/cluster-admin.ts) would fail with the agent's list
  for (const c of ['KV.range', 'KV.txn', 'Lease.leaseGrant', 'Watch.watch', 'Auth.authenticate', 'Cluster.memberList', 'Cluster.memberAdd', 'Cluster.memberRemove', 'Maintenance.status']) {
    assert.ok(cliCalls.has(c), `the CLI's ${c} is found (found: ${[...cliCalls.keys()].join(', ')})`);
  }
  assert.ok(missing(cliCalls, m.AGENT_ETCD_SERVICES).some((w) => /cluster-admin\.ts:\d+ ClusterClient\.memberList/.test(w)));
  assert.ok(!agentCalls.has('Cluster.memberList'));
});

test('the built etcd3 chunk makes each of the CLI\'s calls over the wire to a server that knows all of rpc.proto', async () => {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const grpc = require('@grpc/grpc-js') as typeof import('@grpc/grpc-js');
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const loader = require('@grpc/proto-loader') as typeof import('@grpc/proto-loader');
  const def = loader.loadSync(join(PROTO_DIR, 'rpc.proto'), { keepCase: true, longs: String, enums: String, defaults: true, oneofs: true });
  const pkg = grpc.loadPackageDefinition(def) as unknown as Record<string, Record<string, { service: import('@grpc/grpc-js').ServiceDefinition }>>;
  const seen = new Set<string>();
  const server = new grpc.Server();
  for (const svc of ['KV', 'Watch', 'Lease', 'Cluster', 'Maintenance', 'Auth']) {
    const sd = pkg.etcdserverpb![svc]!.service;
    const handlers: Record<string, unknown> = {};
    for (const [name, md] of Object.entries(sd)) {
      const key = `${svc}.${md.originalName ?? name}`;
      handlers[name] = md.requestStream
        ? (call: import('@grpc/grpc-js').ServerDuplexStream<unknown, unknown>) => {
          call.on('data', () => seen.add(key));
          call.on('end', () => call.end());
        }
        : (_call: unknown, cb: (e: null, r: object) => void) => {
          seen.add(key);
          cb(null, {});
        };
    }
    server.addService(sd, handlers as import('@grpc/grpc-js').UntypedServiceImplementation);
  }
  const port = await new Promise<number>((res, rej) => server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? rej(e) : res(p))));
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { Etcd3: Client } = require(join(dir, 'etcd3.cjs')) as typeof import('etcd3');
  const client: Etcd3 = new Client({ hosts: `http://127.0.0.1:${port}`, dialTimeout: 3000 });
  try {
    if (!cliCalls) throw new Error('the first test found no calls');
    const rpcOf: Record<string, keyof Etcd3> = { KV: 'kv', Watch: 'watchClient', Lease: 'leaseClient', Cluster: 'cluster', Maintenance: 'maintenance', Auth: 'auth' };
    for (const call of cliCalls.keys()) {
      const [svc, method] = call.split('.') as [string, string];
      const rpc = client[rpcOf[svc]!] as unknown as Record<string, (req?: object) => Promise<unknown>>;
      if (call === 'Watch.watch') {
        const stream = (await rpc[method]!()) as unknown as { write(m: object): void; end(): void };
        stream.write({ create_request: { key: Buffer.from('k') } });
        for (let i = 0; i < 100 && !seen.has(call); i++) await new Promise((r) => setTimeout(r, 20));
        stream.end();
      } else {
        await rpc[method]!(call === 'Maintenance.status' ? undefined : {});
      }
      assert.ok(seen.has(call), `${call} reached the server`);
    }
    assert.ok(seen.size >= 9, [...seen].join(', '));
  } finally {
    client.close();
    server.forceShutdown();
  }
});

/** `node <dir>/flanprov.cjs args` with require.cache written at exit: does the etcd3 chunk get evaluated? */
function loadsChunk(args: string[]): boolean {
  const report = join(dir, 'report.cjs');
  const out = join(dir, 'loaded.json');
  writeFileSync(report, `process.on('exit', () => require('fs').writeFileSync(${JSON.stringify(out)}, JSON.stringify(Object.keys(require.cache))));\n`);
  execFileSync(process.execPath, ['-r', report, ...args], { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'] });
  return (JSON.parse(readFileSync(out, 'utf8')) as string[]).includes(join(dir, 'etcd3.cjs'));
}

test('the CLI bundle leaves etcd3 to the chunk, which --version, --help and render never evaluate', () => {
  const cli = readFileSync(join(dir, 'flanprov.cjs'), 'utf8');
  assert.equal(cli.match(/require\("\.\/etcd3\.cjs"\)/g)?.length, 1, 'one require of the chunk (loadEtcd3)');
  assert.doesNotMatch(cli, /require\("(etcd3|@grpc\/grpc-js|@grpc\/proto-loader)"\)/);
  for (const args of [['--version'], ['--help'], ['render', '-i', 'inventories/vxlan-3-nodes.yml']]) {
    assert.equal(loadsChunk([join(dir, 'flanprov.cjs'), ...args]), false, args.join(' '));
  }
  // the check sees the chunk when it is loaded
  assert.equal(loadsChunk(['-e', `require(${JSON.stringify(join(dir, 'etcd3.cjs'))})`]), true);
});
