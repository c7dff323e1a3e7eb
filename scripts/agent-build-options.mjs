// Extra esbuild options for the agent bundle (imported by scripts/build.mjs).
// etcd3 loads its gRPC service definition at run time with
//   loadSync(`${__dirname}/../proto/rpc.proto`, { keepCase, longs: String, enums: String, defaults, oneofs })
// which cannot work inside a single executable (no package directory next to it). This plugin parses
// the .proto files at build time (protobufjs, as @grpc/proto-loader would) and replaces that call with
// a lean loader over an embedded descriptor, so nothing is read from disk at run time.
//
// Memory (measured in the single executable, see bench/agent-memory.ts): @grpc/proto-loader at run time
// loads all of protobufjs (parser, descriptor.proto extension), builds a descriptor object for every
// message and serialises every file descriptor; and etcd3's rpc.proto holds all six etcd services. The
// agent uses KV, Watch and Lease, plus Auth to get a token with -etcd-username. So only those services
// and the messages they reach are embedded, and the service definitions grpc-js needs (path, streaming
// flags, (de)serialisers, originalName) are built here with protobufjs/light exactly as proto-loader
// builds them (same toObject options, so etcd3 sees the same objects). Other services are absent:
// etcd3's Cluster/Maintenance calls would fail in the agent (it never makes them; the CLI is not bundled
// and keeps the full etcd3).
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

const require = createRequire(import.meta.url);

/** The etcd services the agent calls (Auth: etcd3 authenticates through it with -etcd-username). */
export const AGENT_ETCD_SERVICES = ['KV', 'Watch', 'Lease', 'Auth'];

const IMPORT_LOADER = /const proto_loader_1 = require\("@grpc\/proto-loader"\);/;
const LOAD_CALL = /\(0, proto_loader_1\.loadSync\)\(`\$\{__dirname\}\/\.\.\/proto\/rpc\.proto`, \{/;

/**
 * Parses rpc.proto (keepCase, as etcd3 asks) and returns the JSON descriptor of `services` and every
 * type they reach, plus per service the method table [name, originalName, request, response,
 * requestStream, responseStream].
 */
export function leanEtcdProto(protoDir, services = AGENT_ETCD_SERVICES) {
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

/** @type {import('esbuild').Plugin} */
export const embedEtcdProto = {
  name: 'embed-etcd3-proto',
  setup(build) {
    build.onLoad({ filter: /etcd3[\\/]lib[\\/]connection-pool\.js$/ }, async (args) => {
      const src = await readFile(args.path, 'utf8');
      if (!LOAD_CALL.test(src) || !IMPORT_LOADER.test(src) || src.match(/proto_loader_1/g).length !== 2) {
        throw new Error(`embed-etcd3-proto: etcd3's proto loading changed in ${args.path}; update scripts/agent-build-options.mjs`);
      }
      const { json, methods } = leanEtcdProto(join(dirname(args.path), '..', 'proto'));
      const contents = src
        .replace(IMPORT_LOADER, LEAN_LOADER)
        .replace(LOAD_CALL, `__leanEtcdDefinition(${JSON.stringify(json)}, ${JSON.stringify(methods)}, {`);
      return { contents, loader: 'js' };
    });
  },
};

export const agentBuildOptions = { plugins: [embedEtcdProto] };
