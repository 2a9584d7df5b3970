import { webcrypto } from 'node:crypto';
import '../kit/reflect-polyfill';
import * as x509 from '@peculiar/x509';

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

export interface TlsServerCertificate {
  /** PKCS#8 private key, PEM. */
  readonly key: string;
  /** The self-signed certificate, PEM: also the CA a client must be told to trust. */
  readonly cert: string;
}

/**
 * A throwaway self-signed P-256 certificate for `localhost` and 127.0.0.1, valid for an hour, for
 * local TLS servers in tests and benches. Nothing trusts it unless told to (NODE_EXTRA_CA_CERTS).
 */
export async function selfSignedLocalhost(): Promise<TlsServerCertificate> {
  const alg = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
  const keys = (await webcrypto.subtle.generateKey(alg, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: '01',
    name: 'CN=localhost',
    notBefore: new Date(Date.now() - 60_000),
    notAfter: new Date(Date.now() + 3_600_000),
    keys: keys as unknown as Parameters<typeof x509.X509CertificateGenerator.createSelfSigned>[0]['keys'],
    signingAlgorithm: alg,
    extensions: [
      new x509.SubjectAlternativeNameExtension([
        { type: 'dns', value: 'localhost' },
        { type: 'ip', value: '127.0.0.1' },
      ]),
      new x509.BasicConstraintsExtension(true, undefined, true),
    ],
  });
  const pkcs8 = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey));
  return { key: `-----BEGIN PRIVATE KEY-----\n${pkcs8.toString('base64')}\n-----END PRIVATE KEY-----\n`, cert: cert.toString('pem') };
}
