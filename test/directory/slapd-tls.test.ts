/**
 * ldaps and StartTLS against a slapd whose certificate a throw-away CA issued (openssl): the
 * certificate is validated against --ca-file, and a directory that cannot be trusted or reached
 * fails with a stable code.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  lookupManagementPoints,
  publishSiteEntries,
  type DirectoryConfig,
} from '../../src/directory/index.js';
import { slapdSkipReason, startSlapd, type TestSlapd } from '../support/slapd.js';
import { freePort } from './support/ldap-tools.js';
import { createHierarchy } from './support/site-pki.js';

describe.skipIf(slapdSkipReason() !== undefined)('TLS to the directory (slapd)', () => {
  let slapd: TestSlapd;
  const pki = createHierarchy();

  beforeAll(async () => {
    slapd = await startSlapd({ tls: true });
  });
  afterAll(async () => {
    await slapd.stop();
  });

  const site = () => slapd.siteSystems[0]!;

  it('publishes over ldaps and reads back over StartTLS, validating the certificate', async () => {
    const ldaps: DirectoryConfig = {
      ...slapd.config(site()),
      url: slapd.ldapsUrl!,
      tls: { mode: 'ldaps', caFile: slapd.ca!.caFile },
    };
    const mp = pki.mpCertificate('ABC-MP1', 'ABC', ['https://mp1.example.test/']);
    expect(
      (await publishSiteEntries(ldaps, { managementPoints: [{ certificate: mp }] })).created,
    ).toHaveLength(1);
    const starttls: DirectoryConfig = {
      ...slapd.config(),
      tls: { mode: 'starttls', caFile: slapd.ca!.caFile },
    };
    expect((await lookupManagementPoints(starttls, 'ABC')).managementPoints).toHaveLength(1);
  });

  it('refuses a certificate that the given CA did not issue, or no CA at all (ERR_DIRECTORY_TLS)', async () => {
    const wrongCa: DirectoryConfig = {
      ...slapd.config(),
      url: slapd.ldapsUrl!,
      tls: { mode: 'ldaps', caFile: slapd.ca!.otherCaFile },
    };
    await expect(lookupManagementPoints(wrongCa, 'ABC')).rejects.toMatchObject({ code: 'ERR_DIRECTORY_TLS' });
    const systemStore: DirectoryConfig = { ...slapd.config(), tls: { mode: 'starttls' } };
    await expect(lookupManagementPoints(systemStore, 'ABC')).rejects.toMatchObject({
      code: 'ERR_DIRECTORY_TLS',
    });
  });

  it('names a wrong password and an unreachable directory by their codes', async () => {
    await expect(
      lookupManagementPoints({ ...slapd.config(), bindDn: site().dn, password: 'wrong' }, 'ABC'),
    ).rejects.toMatchObject({ code: 'ERR_DIRECTORY_BIND' });
    const closed = await freePort();
    await expect(
      lookupManagementPoints(
        { url: `ldap://127.0.0.1:${closed}`, baseDn: slapd.baseDn, timeoutMs: 2000 },
        'ABC',
      ),
    ).rejects.toMatchObject({ code: 'ERR_DIRECTORY_UNREACHABLE', retryable: true });
  });
});
