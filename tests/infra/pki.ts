/**
 * Throwaway PKI for one test run, made with the openssl CLI (node:crypto cannot sign certificates):
 * a CA, serving certificates for 127.0.0.1/localhost signed by it, and plain RSA keys (service-account
 * signing).
 */
import { execFile } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface CertFiles {
  certFile: string;
  keyFile: string;
}

export class PkiError extends Error {
  constructor(what: string, cause: unknown) {
    super(`could not make ${what} with openssl: ${cause instanceof Error ? cause.message : String(cause)}`);
    this.name = 'PkiError';
  }
}

async function openssl(what: string, args: string[]): Promise<void> {
  try {
    await run('openssl', args);
  } catch (err) {
    throw new PkiError(what, err);
  }
}

export async function makeCa(dir: string, commonName = 'ocm-knative test CA'): Promise<CertFiles> {
  await mkdir(dir, { recursive: true });
  const certFile = join(dir, 'ca.crt');
  const keyFile = join(dir, 'ca.key');
  await openssl('CA', [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '7',
    '-subj', `/CN=${commonName}`, '-addext', 'basicConstraints=critical,CA:TRUE',
    '-addext', 'keyUsage=critical,keyCertSign,cRLSign', '-keyout', keyFile, '-out', certFile,
  ]);
  return { certFile, keyFile };
}

/**
 * A leaf certificate signed by `ca`, valid for serverAuth and clientAuth.
 * @param sans subjectAltName entries, e.g. ['IP:127.0.0.1', 'DNS:localhost']
 */
export async function makeCert(
  dir: string,
  name: string,
  ca: CertFiles,
  sans: string[] = ['IP:127.0.0.1', 'DNS:localhost'],
): Promise<CertFiles> {
  await mkdir(dir, { recursive: true });
  const keyFile = join(dir, `${name}.key`);
  const csrFile = join(dir, `${name}.csr`);
  const certFile = join(dir, `${name}.crt`);
  const extFile = join(dir, `${name}.ext`);
  await writeFile(
    extFile,
    [
      'basicConstraints=CA:FALSE',
      'keyUsage=critical,digitalSignature,keyEncipherment',
      'extendedKeyUsage=serverAuth,clientAuth',
      `subjectAltName=${sans.join(',')}`,
      '',
    ].join('\n'),
  );
  await openssl(`${name} key`, [
    'req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
    '-subj', `/CN=${name}`, '-keyout', keyFile, '-out', csrFile,
  ]);
  await openssl(`${name} certificate`, [
    'x509', '-req', '-in', csrFile, '-CA', ca.certFile, '-CAkey', ca.keyFile, '-CAcreateserial',
    '-days', '7', '-extfile', extFile, '-out', certFile,
  ]);
  return { certFile, keyFile };
}

/** An RSA key pair: private key PEM file and public key PEM file. */
export async function makeRsaKeyPair(dir: string, name: string): Promise<{ privateKeyFile: string; publicKeyFile: string }> {
  await mkdir(dir, { recursive: true });
  const privateKeyFile = join(dir, `${name}.key`);
  const publicKeyFile = join(dir, `${name}.pub`);
  await openssl(`${name} RSA key`, ['genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048', '-out', privateKeyFile]);
  await openssl(`${name} public key`, ['pkey', '-in', privateKeyFile, '-pubout', '-out', publicKeyFile]);
  return { privateKeyFile, publicKeyFile };
}

export async function readPem(file: string): Promise<string> {
  return readFile(file, 'utf8');
}
