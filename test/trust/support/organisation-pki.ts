/**
 * An organisation's own PKI, as an administrator might bring it: an RSA root CA, an intermediate
 * CA, and an RSA server certificate for 127.0.0.1 delivered as a chain PEM (server certificate,
 * then intermediate). Built with @peculiar/x509 directly, outside Steward's issuing code, so the
 * tests see certificates Steward did not make.
 */
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';

const rsa = {
  name: 'RSASSA-PKCS1-v1_5',
  hash: 'SHA-256',
  publicExponent: new Uint8Array([1, 0, 1]),
  modulusLength: 2048,
};
const day = 86_400_000;

export type OrganisationPki = { rootCaPem: string; serverChainPem: string; serverKeyPem: string };

export async function buildOrganisationPki(now: Date): Promise<OrganisationPki> {
  const { subtle } = globalThis.crypto;
  const keys = () => subtle.generateKey(rsa, true, ['sign', 'verify']);
  const [rootKeys, intermediateKeys, serverKeys] = await Promise.all([keys(), keys(), keys()]);
  const notBefore = new Date(now.getTime() - day);
  const notAfter = new Date(now.getTime() + 30 * day);
  const root = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: '01',
    name: 'CN=Example Organisation Root CA',
    notBefore,
    notAfter,
    keys: rootKeys,
    signingAlgorithm: rsa,
    extensions: [
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign, true),
    ],
  });
  const intermediate = await x509.X509CertificateGenerator.create({
    serialNumber: '02',
    subject: 'CN=Example Organisation Issuing CA',
    issuer: root.subject,
    notBefore,
    notAfter,
    publicKey: intermediateKeys.publicKey,
    signingKey: rootKeys.privateKey,
    signingAlgorithm: rsa,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign, true),
    ],
  });
  const server = await x509.X509CertificateGenerator.create({
    serialNumber: '03',
    subject: 'CN=console.example.test',
    issuer: intermediate.subject,
    notBefore,
    notAfter,
    publicKey: serverKeys.publicKey,
    signingKey: intermediateKeys.privateKey,
    signingAlgorithm: rsa,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      new x509.SubjectAlternativeNameExtension([
        { type: 'dns', value: 'console.example.test' },
        { type: 'ip', value: '127.0.0.1' },
      ]),
    ],
  });
  const pkcs8 = await subtle.exportKey('pkcs8', serverKeys.privateKey);
  return {
    rootCaPem: root.toString('pem') + '\n',
    serverChainPem: `${server.toString('pem')}\n${intermediate.toString('pem')}\n`,
    serverKeyPem: x509.PemConverter.encode(pkcs8, 'PRIVATE KEY'),
  };
}
