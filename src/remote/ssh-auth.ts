/**
 * Public-key login in one round trip. ssh2 first asks the server whether it would take a key (a
 * `publickey` request without signature, answered PK_OK) and only then sends the signed request: two
 * round trips per key, where RFC 4252 §7 lets a client send the signed request straight away (the query
 * saves a signature the server would refuse: worth it for a hardware token, not for a key file in memory).
 * At 50 ms from the host that query was 50 of a connect's ~400 ms (docs/round-trips.md).
 *
 * ssh2 has no option for it: its protocol object's authPK(user, key, algo, sign?) sends the query when
 * called without a signing callback. After Client.connect() (which creates that object synchronously) the
 * query is turned into the signed request for private keys (key files); ssh-agent keys (public halves,
 * signed by the agent) keep the query. A failed signature falls back to the query, an ssh2 without
 * `_protocol.authPK` leaves everything as it was.
 */
import type { Client } from 'ssh2';

/** the hash each RSA signature algorithm signs with (ssh2's getKeyAlgos); other key types take none */
const RSA_HASH: Record<string, string> = { 'rsa-sha2-256': 'sha256', 'rsa-sha2-512': 'sha512', 'ssh-rsa': 'sha1' };

interface PrivateKeyLike {
  isPrivateKey(): boolean;
  sign(data: Buffer, hash?: string): Buffer | Error;
}

type Sign = (buf: Buffer, cb: (signature: Buffer) => void) => void;
type AuthPK = (user: string, key: unknown, algo?: string | Sign, sign?: Sign) => unknown;

function privateKeyOf(key: unknown): PrivateKeyLike | undefined {
  const k = key as Partial<PrivateKeyLike> | null;
  return k && typeof k.isPrivateKey === 'function' && typeof k.sign === 'function' && k.isPrivateKey() ? (k as PrivateKeyLike) : undefined;
}

/** Call right after client.connect(cfg). Returns false when this ssh2 has no hook for it (nothing changed). */
export function signPublickeyAtOnce(client: Client): boolean {
  const proto = (client as unknown as { _protocol?: { authPK?: AuthPK } })._protocol;
  if (!proto || typeof proto.authPK !== 'function') return false;
  const query = proto.authPK.bind(proto);
  proto.authPK = (user, key, algo, sign) => {
    const pk = privateKeyOf(key);
    if (sign !== undefined || typeof algo === 'function' || !pk) return query(user, key, algo, sign);
    const hash = typeof algo === 'string' ? RSA_HASH[algo] : undefined;
    const probe = pk.sign(Buffer.alloc(0), hash);
    if (probe instanceof Error) return query(user, key, algo);
    return query(user, key, algo, (buf, cb) => {
      const s = pk.sign(buf, hash);
      // signing worked on the probe above; an error now is not expected, and an empty signature fails the login
      cb(s instanceof Error ? Buffer.alloc(0) : s);
    });
  };
  return true;
}
