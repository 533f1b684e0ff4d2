import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * A private CA as a company's git host has one: a self-signed certificate for 127.0.0.1 that no system store knows,
 * written as key.pem and cert.pem into `dir`. Needs openssl, which CI installs (scripts/check.sh); elsewhere the
 * error says it is missing.
 */
export function selfSignedCert(dir: string): { keyFile: string; certFile: string; key: string; cert: string } {
  const keyFile = join(dir, 'key.pem');
  const certFile = join(dir, 'cert.pem');
  const args = ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', keyFile, '-out', certFile, '-days', '2', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'];
  try {
    execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (e) {
    throw new Error(`openssl req failed (is openssl installed?): ${String((e as { stderr?: unknown }).stderr ?? e)}`);
  }
  return { keyFile, certFile, key: readFileSync(keyFile, 'utf8'), cert: readFileSync(certFile, 'utf8') };
}
