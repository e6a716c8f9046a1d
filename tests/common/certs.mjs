// A throwaway PKI made with the openssl CLI for TLS tests: a test CA, a server certificate for
// localhost / 127.0.0.1 (serverAuth + clientAuth: Redis nodes also use it towards each other),
// a client certificate (mutual TLS), and an unrelated second CA (a "wrong CA").
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

function openssl(argv, dir) {
  const r = spawnSync('openssl', argv, { cwd: dir, encoding: 'utf8' });
  if (r.error || r.status !== 0) throw new Error(`openssl ${argv.join(' ')} failed: ${r.error ? r.error.message : r.stderr}`);
}

/// Writes the files into `dir` and returns their paths.
export function makeTestPki(dir) {
  mkdirSync(dir, { recursive: true });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  const ca = (name, cn) =>
    openssl(['req', '-x509', ...ec, '-keyout', `${name}.key`, '-out', `${name}.pem`, '-days', '2', '-subj', `/CN=${cn}`, '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign'], dir);
  const leaf = (name, cn, ext) => {
    openssl(['req', ...ec, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${cn}`], dir);
    writeFileSync(join(dir, `${name}.cnf`), ext);
    openssl(['x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', `${name}.pem`, '-days', '2', '-extfile', `${name}.cnf`], dir);
  };
  ca('ca', 'pushcore test CA');
  ca('other-ca', 'some other CA');
  leaf('server', 'localhost', 'subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth,clientAuth\n');
  leaf('client', 'pushcore client', 'basicConstraints=CA:FALSE\nextendedKeyUsage=clientAuth\n');
  const p = (f) => join(dir, f);
  return { dir, ca: p('ca.pem'), otherCa: p('other-ca.pem'), serverCert: p('server.pem'), serverKey: p('server.key'), clientCert: p('client.pem'), clientKey: p('client.key') };
}
