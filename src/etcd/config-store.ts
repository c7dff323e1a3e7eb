/**
 * The network config key: read, create-only write (Txn on Version==0), compare-and-swap (on
 * ModRevision or on the current value), and watch. Values are stored as written (text); callers
 * validate with network/config.ts.
 */
import type { Etcd3, Watcher } from 'etcd3';
import { configKey } from './keys.js';

export interface StoredConfig {
  text: string;
  modRevision: string;
  version: string;
}


/** The config as stored, or undefined when the key does not exist. */
export async function readConfig(client: Etcd3, prefix: string): Promise<StoredConfig | undefined> {
  const res = await client.kv.range({ key: Buffer.from(configKey(prefix)) });
  const kv = res.kvs[0];
  if (!kv) return undefined;
  return { text: kv.value.toString(), modRevision: kv.mod_revision, version: kv.version };
}

/** The message shown while the key is missing (flannel's wording plus the key itself). */
export function configNotFoundMessage(prefix: string): string {
  return `flannel config not found in etcd store (${configKey(prefix)}). Did you create your config using etcdv3 API?`;
}

export type CreateConfigResult = { created: true; modRevision: string } | { created: false; existing: StoredConfig };

/** Write the config only if the key does not exist yet; otherwise return what is there. */
export async function createConfig(client: Etcd3, prefix: string, text: string): Promise<CreateConfigResult> {
  const key = Buffer.from(configKey(prefix));
  const res = await client.kv.txn({
    compare: [{ key, target: 'Version', result: 'Equal', version: 0 }],
    success: [{ request_put: { key, value: Buffer.from(text) } }],
    failure: [{ request_range: { key } }],
  });
  if (res.succeeded) return { created: true, modRevision: res.header.revision };
  const kv = res.responses[0]?.response_range.kvs[0];
  if (!kv) throw new Error(`etcd txn on ${configKey(prefix)} failed but the key is missing`);
  return { created: false, existing: { text: kv.value.toString(), modRevision: kv.mod_revision, version: kv.version } };
}

export type SwapCondition = { modRevision: string } | { value: string };

/** Replace the config only if it is still as the caller last saw it. True when swapped. */
export async function swapConfig(client: Etcd3, prefix: string, text: string, cond: SwapCondition): Promise<boolean> {
  const key = Buffer.from(configKey(prefix));
  const compare = 'modRevision' in cond
    ? { key, target: 'Mod' as const, result: 'Equal' as const, mod_revision: cond.modRevision }
    : { key, target: 'Value' as const, result: 'Equal' as const, value: Buffer.from(cond.value) };
  const res = await client.kv.txn({ compare: [compare], success: [{ request_put: { key, value: Buffer.from(text) } }] });
  return res.succeeded;
}

export interface ConfigWatch {
  cancel(): Promise<void>;
}

/**
 * Call `onChange` for every change of the config key from `fromRevision` on (inclusive; undefined text =
 * deleted). Returns at once, without waiting for etcd to confirm the watch (a frozen etcd would never
 * confirm it). etcd3 resumes the watch itself after disconnects; a cancelled watch (compaction) is
 * reported through `onError` so the caller can re-read and watch again.
 */
export function watchConfig(
  client: Etcd3, prefix: string, fromRevision: string | undefined,
  onChange: (text: string | undefined, modRevision: string) => void,
  onError: (err: Error) => void,
): ConfigWatch {
  let b = client.watch().key(configKey(prefix));
  if (fromRevision) b = b.startRevision(fromRevision);
  const w: Watcher = b.watcher();
  w.on('put', (kv) => onChange(kv.value.toString(), kv.mod_revision));
  w.on('delete', (kv) => onChange(undefined, kv.mod_revision));
  w.on('error', onError);
  return { cancel: () => w.cancel() };
}
