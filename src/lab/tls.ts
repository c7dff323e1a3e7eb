/**
 * `lab up --etcd-tls`: a private CA, an etcd server certificate (SAN: the etcd IP and loopback) and a client
 * certificate, made with openssl. etcd then requires client certificates; the inventory names the files.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { run, runOk } from './exec.js';
import { tlsDir } from './paths.js';
import { StepFailedError } from '../util/errors.js';

export interface TlsFiles {
  ca: string;
  serverCert: string;
  serverKey: string;
  clientCert: string;
  clientKey: string;
}

export function tlsFiles(lab: string): TlsFiles {
  const d = tlsDir(lab);
  return {
    ca: join(d, 'ca.pem'),
    serverCert: join(d, 'etcd-server.pem'),
    serverKey: join(d, 'etcd-server-key.pem'),
    clientCert: join(d, 'etcd-client.pem'),
    clientKey: join(d, 'etcd-client-key.pem'),
  };
}

const KEY = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

export async function makeEtcdTls(lab: string, etcdIp: string): Promise<TlsFiles> {
  if ((await run('sh', ['-c', 'command -v openssl'])).code !== 0) {
    throw new StepFailedError('--etcd-tls needs openssl, which is not installed', 'lab up', 'apt-get install openssl');
  }
  const d = tlsDir(lab);
  mkdirSync(d, { recursive: true, mode: 0o700 });
  const f = tlsFiles(lab);
  const caKey = join(d, 'ca-key.pem');
  await runOk('openssl', ['req', '-x509', ...KEY, '-keyout', caKey, '-out', f.ca, '-days', '3650', '-subj', `/CN=flanprov lab ${lab} CA`], {}, 'openssl');
  const sign = async (cn: string, cert: string, key: string, ext: string): Promise<void> => {
    const csr = `${cert}.csr`;
    const extFile = `${cert}.ext`;
    writeFileSync(extFile, ext);
    await runOk('openssl', ['req', '-new', ...KEY, '-keyout', key, '-out', csr, '-subj', `/CN=${cn}`], {}, 'openssl');
    await runOk('openssl', ['x509', '-req', '-in', csr, '-CA', f.ca, '-CAkey', caKey, '-set_serial', `0x${randomBytes(8).toString('hex')}`,
      '-days', '3650', '-out', cert, '-extfile', extFile], {}, 'openssl');
    await runOk('rm', ['-f', csr, extFile]);
  };
  await Promise.all([
    sign('etcd', f.serverCert, f.serverKey, `subjectAltName=IP:${etcdIp},IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth,clientAuth\n`),
    sign('flanprov', f.clientCert, f.clientKey, 'extendedKeyUsage=clientAuth\n'),
  ]);
  return f;
}
