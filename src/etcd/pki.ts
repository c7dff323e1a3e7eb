/**
 * The X.509 side of the etcd PKI flanprov keeps for a cluster it runs (docs/etcd.md): a CA, and certificates
 * signed by it for each member (server, peer), each agent and the controller — ECDSA P-256 with SHA-256.
 *
 * Issuing uses @peculiar/x509 over Node's WebCrypto (loaded only when something must be issued): a CA and
 * 10 certificates take ~30-130 ms here; node-forge cannot sign with EC keys (RSA-2048 keys made the same set
 * take ~3.9 s), and the openssl CLI needs 21 processes (~0.6 s) and a tool on every controller. Checking what
 * is there (SANs, issuer, expiry, key pair) needs no library: Node's own X509Certificate does it, so a run with
 * nothing to issue never loads @peculiar/x509.
 */
import { X509Certificate, createPrivateKey, randomBytes, webcrypto } from 'node:crypto';

/** What a certificate is for: its extended key usages (peers are servers and clients of each other). */
export type CertUsage = 'server' | 'peer' | 'client';

export interface CertSpec {
  /** a label for messages, e.g. "h1 server" */
  label: string;
  commonName: string;
  dns: string[];
  ips: string[];
  usage: CertUsage;
}

export interface KeyPairPem {
  certPem: string;
  keyPem: string;
}

export const CA_DAYS = 3650;
export const LEAF_DAYS = 1825;
/** a leaf certificate closer to its end than this is issued again (`up` then restarts what uses it) */
export const RENEW_BEFORE_DAYS = 180;
const DAY_MS = 86_400_000;

const EC = { name: 'ECDSA', namedCurve: 'P-256' } as const;
const SIGN = { name: 'ECDSA', hash: 'SHA-256' } as const;

const EKU: Record<CertUsage, string[]> = {
  server: ['1.3.6.1.5.5.7.3.1', '1.3.6.1.5.5.7.3.2'], // serverAuth, clientAuth (etcd's gateway and health checks dial with it)
  peer: ['1.3.6.1.5.5.7.3.1', '1.3.6.1.5.5.7.3.2'], // a peer is both
  client: ['1.3.6.1.5.5.7.3.2'],
};

type X509Lib = typeof import('@peculiar/x509');
let lib: Promise<X509Lib> | undefined;

/** @peculiar/x509 (it needs a Reflect metadata polyfill for its dependency injection), on first use only. */
function x509(): Promise<X509Lib> {
  lib ??= (async () => {
    await import('reflect-metadata');
    const m = await import('@peculiar/x509');
    m.cryptoProvider.set(webcrypto as unknown as Parameters<typeof m.cryptoProvider.set>[0]);
    return m;
  })();
  return lib;
}

/** Starts loading @peculiar/x509 now (e.g. while the hosts' facts come in, when certificates will be issued). */
export function preloadX509(): void {
  x509().catch(() => undefined);
}

function serial(): string {
  // positive, 16 bytes (RFC 5280: at most 20 octets, unpredictable)
  const b = randomBytes(16);
  b[0] = b[0]! & 0x7f | 0x10;
  return b.toString('hex');
}

async function pkcs8Pem(key: webcrypto.CryptoKey): Promise<string> {
  const der = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', key));
  return `-----BEGIN PRIVATE KEY-----\n${der.toString('base64').replace(/.{64}/g, '$&\n').replace(/\n?$/, '\n')}-----END PRIVATE KEY-----\n`;
}

/** A new self-signed CA (CA:true, pathlen 0, keyCertSign + cRLSign). */
export async function createCa(commonName: string, now = new Date()): Promise<KeyPairPem> {
  const X = await x509();
  const keys = await webcrypto.subtle.generateKey(EC, true, ['sign', 'verify']) as webcrypto.CryptoKeyPair;
  const cert = await X.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial(), name: new X.Name([{ CN: [commonName] }]), keys, signingAlgorithm: SIGN,
    notBefore: new Date(now.getTime() - 60_000), notAfter: new Date(now.getTime() + CA_DAYS * DAY_MS),
    extensions: [
      new X.BasicConstraintsExtension(true, 0, true),
      new X.KeyUsagesExtension(X.KeyUsageFlags.keyCertSign | X.KeyUsageFlags.cRLSign, true),
      await X.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { certPem: cert.toString('pem') + '\n', keyPem: await pkcs8Pem(keys.privateKey) };
}

/** A certificate for `spec` with a fresh key, signed by the CA. */
export async function issueCert(ca: KeyPairPem, spec: CertSpec, now = new Date()): Promise<KeyPairPem> {
  const X = await x509();
  const caCert = new X.X509Certificate(ca.certPem);
  const caKey = await webcrypto.subtle.importKey('pkcs8', pemBody(ca.keyPem), EC, false, ['sign']);
  const keys = await webcrypto.subtle.generateKey(EC, true, ['sign', 'verify']) as webcrypto.CryptoKeyPair;
  const names = [...spec.dns.map((value) => ({ type: 'dns' as const, value })), ...spec.ips.map((value) => ({ type: 'ip' as const, value }))];
  const cert = await X.X509CertificateGenerator.create({
    serialNumber: serial(), subject: new X.Name([{ CN: [spec.commonName] }]), issuer: caCert.subjectName,
    publicKey: keys.publicKey, signingKey: caKey, signingAlgorithm: SIGN,
    notBefore: new Date(now.getTime() - 60_000), notAfter: new Date(now.getTime() + LEAF_DAYS * DAY_MS),
    extensions: [
      new X.BasicConstraintsExtension(false, undefined, true),
      new X.KeyUsagesExtension(X.KeyUsageFlags.digitalSignature, true),
      new X.ExtendedKeyUsageExtension(EKU[spec.usage]),
      ...(names.length ? [new X.SubjectAlternativeNameExtension(names)] : []),
      await X.AuthorityKeyIdentifierExtension.create(caCert.publicKey),
    ],
  });
  return { certPem: cert.toString('pem') + '\n', keyPem: await pkcs8Pem(keys.privateKey) };
}

function pemBody(pem: string): Buffer {
  return Buffer.from(pem.replace(/-----[^-]+-----/g, '').replace(/\s+/g, ''), 'base64');
}

/** The SANs of a certificate as a sorted list of "DNS:x" / "IP:y" (Node prints IPs as "IP Address:y"). */
export function sansOf(cert: X509Certificate): string[] {
  return (cert.subjectAltName ?? '').split(/,\s*/).filter(Boolean).map((s) => s.replace(/^IP Address:/, 'IP:')).sort();
}

export function wantedSans(spec: Pick<CertSpec, 'dns' | 'ips'>): string[] {
  return [...spec.dns.map((d) => `DNS:${d}`), ...spec.ips.map((i) => `IP:${i}`)].sort();
}

/** Why the CA cannot be used (undefined: it can): missing, unreadable, not a CA, key not its own, expired. */
export function caProblem(ca: Partial<KeyPairPem>, now = new Date()): string | undefined {
  if (!ca.certPem || !ca.keyPem) return 'missing';
  try {
    const cert = new X509Certificate(ca.certPem);
    if (!cert.ca) return 'not a CA certificate';
    if (!cert.checkPrivateKey(createPrivateKey(ca.keyPem))) return 'the key is not the certificate\'s';
    if (new Date(cert.validTo).getTime() < now.getTime()) return `expired on ${cert.validTo}`;
  } catch (e) {
    return `unreadable: ${(e as Error).message}`;
  }
  return undefined;
}

/**
 * Why a certificate must be issued (again), or undefined when it is fine: missing, not signed by this CA,
 * its key does not match, other SANs or common name than wanted, or fewer than RENEW_BEFORE_DAYS days left.
 */
export function certProblem(have: Partial<KeyPairPem>, caPem: string, spec: CertSpec, now = new Date()): string | undefined {
  if (!have.certPem || !have.keyPem) return 'missing';
  try {
    const cert = new X509Certificate(have.certPem);
    const ca = new X509Certificate(caPem);
    if (!cert.checkIssued(ca) || !cert.verify(ca.publicKey)) return 'not signed by the CA';
    if (!cert.checkPrivateKey(createPrivateKey(have.keyPem))) return 'the key is not the certificate\'s';
    if (!cert.subject.split('\n').includes(`CN=${spec.commonName}`)) return `common name is not ${spec.commonName}`;
    const got = sansOf(cert);
    const want = wantedSans(spec);
    if (got.join(',') !== want.join(',')) return `SANs are ${got.join(', ') || 'none'}, want ${want.join(', ')}`;
    const left = new Date(cert.validTo).getTime() - now.getTime();
    if (left < RENEW_BEFORE_DAYS * DAY_MS) return left < 0 ? `expired on ${cert.validTo}` : `expires on ${cert.validTo}`;
  } catch (e) {
    return `unreadable: ${(e as Error).message}`;
  }
  return undefined;
}
