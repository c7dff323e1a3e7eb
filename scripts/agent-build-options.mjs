// Extra esbuild options for the agent bundle (scripts/build.mjs, test/integration/agent-harness.ts): etcd3
// with the definitions of the services the agent calls embedded (scripts/etcd3-embed.mjs).
import { AGENT_ETCD_SERVICES, embedEtcdProto } from './etcd3-embed.mjs';

export const agentBuildOptions = { plugins: [embedEtcdProto(AGENT_ETCD_SERVICES)] };
