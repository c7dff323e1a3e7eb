// Extra esbuild options for the agent bundle (imported by scripts/build.mjs).
// etcd3 loads its gRPC service definition at run time with
//   loadSync(`${__dirname}/../proto/rpc.proto`)
// which cannot work inside a single executable (no package directory next to it). This plugin
// parses the .proto files at build time (protobufjs, as @grpc/proto-loader would) and replaces that
// call with proto-loader's fromJSON(<embedded descriptor>), so nothing is read from disk at run time.
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

const require = createRequire(import.meta.url);

const LOAD_CALL = /\(0, proto_loader_1\.loadSync\)\(`\$\{__dirname\}\/\.\.\/proto\/rpc\.proto`, \{/;

function protoJson(protoDir) {
  const protobuf = require('protobufjs');
  const root = new protobuf.Root();
  root.resolvePath = (_origin, target) => join(protoDir, target.replace(/^.*\//, ''));
  root.loadSync(join(protoDir, 'rpc.proto'), { keepCase: true });
  return root.toJSON();
}

/** @type {import('esbuild').Plugin} */
export const embedEtcdProto = {
  name: 'embed-etcd3-proto',
  setup(build) {
    build.onLoad({ filter: /etcd3[\\/]lib[\\/]connection-pool\.js$/ }, async (args) => {
      const src = await readFile(args.path, 'utf8');
      if (!LOAD_CALL.test(src)) {
        throw new Error(`embed-etcd3-proto: etcd3's proto loading changed in ${args.path}; update scripts/agent-build-options.mjs`);
      }
      const json = JSON.stringify(protoJson(join(dirname(args.path), '..', 'proto')));
      return { contents: src.replace(LOAD_CALL, `(0, proto_loader_1.fromJSON)(${json}, {`), loader: 'js' };
    });
  },
};

export const agentBuildOptions = { plugins: [embedEtcdProto] };
