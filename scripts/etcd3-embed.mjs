// esbuild plugin that bundles etcd3 with its gRPC service definitions embedded, for the agent
// (scripts/agent-build-options.mjs) and the CLI's etcd3 chunk (scripts/build.mjs).
// etcd3 loads its gRPC service definition at run time with
//   loadSync(`${__dirname}/../proto/rpc.proto`, { keepCase, longs: String, enums: String, defaults, oneofs })
// which cannot work inside a single executable (no package directory next to it), and costs the CLI
// @grpc/proto-loader, all of protobufjs (parser, descriptor.proto extension) and a parse of the .proto
// files on every run that talks to etcd. This plugin parses the .proto files at build time (protobufjs, as
// @grpc/proto-loader would) and replaces that call with a lean loader over an embedded descriptor, so
// nothing is read from disk or parsed from .proto text at run time.
//
// Only the services asked for and the messages they reach are embedded, and the service definitions
// grpc-js needs (path, streaming flags, (de)serialisers, originalName) are built with protobufjs/light
// exactly as proto-loader builds them (same toObject options, so etcd3 sees the same objects). A service
// left out is absent: etcd3's calls to it would fail, so each build names every service its code calls.
// Memory (measured in the single executable, see bench/agent-memory.ts): proto-loader at run time builds a
// descriptor object for every message and serialises every file descriptor; rpc.proto holds six services.
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

const require = createRequire(import.meta.url);

/** The etcd services the agent calls (Auth: etcd3 authenticates through it with -etcd-username). */
export const AGENT_ETCD_SERVICES = ['KV', 'Watch', 'Lease', 'Auth'];
/**
 * The etcd services the CLI calls: the agent's, plus Cluster (member list/add/remove, etcd/cluster-admin.ts)
 * and Maintenance (status, etcd/cluster-admin.ts memberStatus). test/unit/etcd/embedded-services.test.ts
 * checks every etcd3 call in the CLI's code against them.
 */
export const CLI_ETCD_SERVICES = [...AGENT_ETCD_SERVICES, 'Cluster', 'Maintenance'];

/**
 * esbuild options (without outfile) of the CLI's etcd3 chunk, dist/etcd3.cjs: etcd3 with grpc-js,
 * protobufjs/light, cockatiel, bignumber.js in one file and CLI_ETCD_SERVICES embedded. A chunk of its own,
 * required at the first etcd client (src/etcd/client.ts loadEtcd3), rather than inside dist/flanprov.cjs:
 * inside, its 1 MB made every start parse it (`flanprov --version` 72 -> 85 ms, docs/cli-startup.md).
 * @grpc/proto-loader stays external: only grpc-js's channelz and ORCA reach it, which the CLI never enables.
 * Not minified: the minified chunk took longer to load (48 against 39 ms of CPU).
 * @param {string} root the checkout
 * @returns {import('esbuild').BuildOptions}
 */
export function etcd3ChunkOptions(root) {
  return {
    entryPoints: [join(root, 'node_modules/etcd3/lib/index.js')],
    bundle: true, platform: 'node', target: 'node20', format: 'cjs', logLevel: 'warning',
    external: ['@grpc/proto-loader'], sourcemap: 'linked',
    plugins: [embedEtcdProto(CLI_ETCD_SERVICES)],
  };
}

/**
 * For the CLI bundle: `require('etcd3')` becomes `require('./etcd3.cjs')`, the chunk next to dist/flanprov.cjs.
 * @type {import('esbuild').Plugin}
 */
export const etcd3AsChunk = {
  name: 'etcd3-as-chunk',
  setup(build) {
    build.onResolve({ filter: /^etcd3$/ }, (args) => {
      if (args.kind !== 'require-call') throw new Error(`etcd3-as-chunk: etcd3 ${args.kind} in ${args.importer}: load it with loadEtcd3 (src/etcd/client.ts), so it stays lazy`);
      return { path: './etcd3.cjs', external: true };
    });
  },
};

const IMPORT_LOADER = /const proto_loader_1 = require\("@grpc\/proto-loader"\);/;
const LOAD_CALL = /\(0, proto_loader_1\.loadSync\)\(`\$\{__dirname\}\/\.\.\/proto\/rpc\.proto`, \{/;

/**
 * Parses rpc.proto (keepCase, as etcd3 asks) and returns the JSON descriptor of `services` and every
 * type they reach, plus per service the method table [name, originalName, request, response,
 * requestStream, responseStream].
 */
export function leanEtcdProto(protoDir, services) {
  const protobuf = require('protobufjs');
  const camelCase = require('lodash.camelcase'); // proto-loader's originalName
  const root = new protobuf.Root();
  root.resolvePath = (_origin, target) => join(protoDir, target.replace(/^.*\//, ''));
  root.loadSync(join(protoDir, 'rpc.proto'), { keepCase: true });
  root.resolveAll();

  const keep = new Set();
  const visit = (t) => {
    if (keep.has(t.fullName)) return;
    keep.add(t.fullName);
    for (let p = t.parent; p && p.fullName !== ''; p = p.parent) keep.add(p.fullName);
    if (t instanceof protobuf.Type) {
      for (const f of t.fieldsArray) if (f.resolvedType) visit(f.resolvedType);
      for (const n of t.nestedArray) visit(n);
    }
  };
  const methods = [];
  for (const name of services) {
    const svc = root.lookupService(`etcdserverpb.${name}`);
    keep.add(svc.fullName);
    keep.add(svc.parent.fullName);
    methods.push([`etcdserverpb.${name}`, svc.methodsArray.map((m) => {
      visit(m.resolvedRequestType);
      visit(m.resolvedResponseType);
      return [m.name, camelCase(m.name), m.resolvedRequestType.fullName.slice(1), m.resolvedResponseType.fullName.slice(1), !!m.requestStream, !!m.responseStream];
    })]);
  }
  const prune = (json, prefix) => {
    if (!json.nested) return json;
    const nested = {};
    for (const [k, v] of Object.entries(json.nested)) {
      const full = `${prefix}.${k}`;
      if (keep.has(full)) nested[k] = prune(v, full);
    }
    return { ...json, nested };
  };
  return { json: prune(root.toJSON(), ''), methods };
}

/**
 * Run-time replacement for proto-loader's loadSync (inlined into etcd3's connection-pool.js): service
 * definitions only, (de)serialisers as proto-loader's createSerializer/createDeserializer.
 */
const LEAN_LOADER = `function __leanEtcdDefinition(json, methods, options) {
  const pb = require("protobufjs/light");
  const root = pb.Root.fromJSON(json);
  root.resolveAll();
  const ser = (T) => (arg) => {
    if (Array.isArray(arg)) throw new Error("Failed to serialize message: expected object with " + T.name + " structure, got array instead");
    return T.encode(T.fromObject(arg)).finish();
  };
  const de = (T) => (buf) => T.toObject(T.decode(buf), options);
  const def = {};
  for (const [service, list] of methods) {
    const s = {};
    for (const [name, originalName, req, res, requestStream, responseStream] of list) {
      const Q = root.lookupType(req), R = root.lookupType(res);
      s[name] = { path: "/" + service + "/" + name, requestStream, responseStream, requestSerialize: ser(Q),
        requestDeserialize: de(Q), responseSerialize: ser(R), responseDeserialize: de(R), originalName };
    }
    def[service] = s;
  }
  return def;
}
`;

/**
 * The plugin: etcd3's connection-pool.js with the definition of `services` embedded.
 * @param {string[]} services
 * @returns {import('esbuild').Plugin}
 */
export function embedEtcdProto(services) {
  return {
    name: 'embed-etcd3-proto',
    setup(build) {
      build.onLoad({ filter: /etcd3[\\/]lib[\\/]connection-pool\.js$/ }, async (args) => {
        const src = await readFile(args.path, 'utf8');
        if (!LOAD_CALL.test(src) || !IMPORT_LOADER.test(src) || src.match(/proto_loader_1/g).length !== 2) {
          throw new Error(`embed-etcd3-proto: etcd3's proto loading changed in ${args.path}; update scripts/etcd3-embed.mjs`);
        }
        const { json, methods } = leanEtcdProto(join(dirname(args.path), '..', 'proto'), services);
        const contents = src
          .replace(IMPORT_LOADER, LEAN_LOADER)
          .replace(LOAD_CALL, `__leanEtcdDefinition(${JSON.stringify(json)}, ${JSON.stringify(methods)}, {`);
        return { contents, loader: 'js' };
      });
    },
  };
}
