import { sql } from 'kysely';
import { afterAll, beforeAll, expect, it } from 'vitest';
import {
  authenticatePassword,
  authenticateToken,
  createAccount,
  disableAccount,
  issueApiToken,
  revokeApiToken,
  setPassword,
  UnauthenticatedError,
  WeakPasswordError,
} from '../../src/admin/identity/index.js';
import { describeEachBackend, type OpenedTestDatabase } from '../support/backends.js';

const password = 'correct horse battery';

describeEachBackend('admin accounts and API tokens', (open) => {
  let database: OpenedTestDatabase;
  beforeAll(async () => {
    database = await open();
  });
  afterAll(async () => {
    await database.discard();
  });

  it('creates an account and authenticates it with the right password', async () => {
    const account = await createAccount(database.db, { name: 'alice', password });
    expect(account).toMatchObject({ name: 'alice', disabled: false, hasPassword: true, directoryDn: null });
    const principal = await authenticatePassword(database.db, 'alice', password);
    expect(principal).toEqual({ accountId: account.id, name: 'alice', via: 'password', grants: [] });
  });

  it('refuses a wrong password and an unknown name with the same error', async () => {
    await createAccount(database.db, { name: 'bob', password });
    const wrong = await authenticatePassword(database.db, 'bob', 'not the password').catch((e: unknown) => e);
    const unknown = await authenticatePassword(database.db, 'nobody', password).catch((e: unknown) => e);
    expect(wrong).toBeInstanceOf(UnauthenticatedError);
    expect(unknown).toBeInstanceOf(UnauthenticatedError);
    expect((wrong as Error).message).toBe((unknown as Error).message);
  });

  it('spends scrypt work on unknown names too (an unknown name takes comparable time to a wrong password)', async () => {
    await createAccount(database.db, { name: 'tim', password });
    const time = async (name: string): Promise<number> => {
      const started = performance.now();
      await authenticatePassword(database.db, name, 'wrong password!').catch(() => undefined);
      return performance.now() - started;
    };
    const median = (values: number[]): number => values.sort((a, b) => a - b)[1]!;
    const known = median([await time('tim'), await time('tim'), await time('tim')]);
    const unknown = median([await time('nobody'), await time('nobody'), await time('nobody')]);
    // Without the dummy verification an unknown name costs one indexed lookup, a few percent of scrypt.
    expect(unknown).toBeGreaterThan(known * 0.3);
  });

  it('refuses a directory-only account a password login', async () => {
    await createAccount(database.db, { name: 'dora', directoryDn: 'CN=Dora,DC=example,DC=org' });
    await expect(authenticatePassword(database.db, 'dora', password)).rejects.toBeInstanceOf(
      UnauthenticatedError,
    );
  });

  it('refuses a disabled account its password and its tokens', async () => {
    const account = await createAccount(database.db, { name: 'carol', password });
    const issued = await issueApiToken(database.db, account.id, { name: 'ci' });
    await disableAccount(database.db, account.id);
    await expect(authenticatePassword(database.db, 'carol', password)).rejects.toBeInstanceOf(
      UnauthenticatedError,
    );
    await expect(authenticateToken(database.db, issued.token)).rejects.toBeInstanceOf(UnauthenticatedError);
  });

  it('refuses passwords shorter than 12 characters, for new accounts and password changes', async () => {
    await expect(
      createAccount(database.db, { name: 'weak', password: 'elevenchars' }),
    ).rejects.toBeInstanceOf(WeakPasswordError);
    const account = await createAccount(database.db, { name: 'erin', password });
    await expect(setPassword(database.db, account.id, 'short')).rejects.toMatchObject({
      code: 'ERR_WEAK_PASSWORD',
    });
    await setPassword(database.db, account.id, 'a new long passphrase');
    await expect(authenticatePassword(database.db, 'erin', password)).rejects.toBeInstanceOf(
      UnauthenticatedError,
    );
    await expect(authenticatePassword(database.db, 'erin', 'a new long passphrase')).resolves.toMatchObject({
      name: 'erin',
    });
  });

  it('refuses a second account with the same name and names with colons', async () => {
    await createAccount(database.db, { name: 'frank' });
    await expect(createAccount(database.db, { name: 'frank' })).rejects.toMatchObject({
      code: 'ERR_CONFLICT',
    });
    await expect(createAccount(database.db, { name: 'a:b' })).rejects.toMatchObject({
      code: 'ERR_INVALID_REQUEST',
    });
  });

  it('issues a token once, in the stw_ form, and authenticates with it', async () => {
    const account = await createAccount(database.db, { name: 'grace' });
    const issued = await issueApiToken(database.db, account.id, { name: 'laptop' });
    expect(issued.token).toMatch(/^stw_[A-Za-z0-9_-]{43}$/);
    const principal = await authenticateToken(database.db, issued.token);
    expect(principal).toMatchObject({ accountId: account.id, name: 'grace', via: 'token' });
  });

  it('stores only the token hash: the raw token appears nowhere in the api_tokens table', async () => {
    const account = await createAccount(database.db, { name: 'heidi' });
    const issued = await issueApiToken(database.db, account.id, { name: 'script' });
    const secret = issued.token.slice('stw_'.length);
    const rows = await sql<{ row: string }>`select api_tokens::text as row from api_tokens`.execute(
      database.db,
    );
    expect(rows.rows.length).toBeGreaterThan(0);
    for (const { row } of rows.rows) {
      expect(row).not.toContain(secret);
    }
  });

  it('refuses revoked, expired, unknown and malformed tokens', async () => {
    const account = await createAccount(database.db, { name: 'ivan' });
    const now = new Date('2030-01-01T00:00:00Z');
    const revoked = await issueApiToken(database.db, account.id, { name: 'revoked' }, now);
    await revokeApiToken(database.db, revoked.id, now);
    await expect(authenticateToken(database.db, revoked.token, now)).rejects.toBeInstanceOf(
      UnauthenticatedError,
    );

    const expiresAt = new Date(now.getTime() + 60_000);
    const expiring = await issueApiToken(database.db, account.id, { name: 'short-lived', expiresAt }, now);
    await expect(authenticateToken(database.db, expiring.token, now)).resolves.toMatchObject({
      name: 'ivan',
    });
    await expect(authenticateToken(database.db, expiring.token, expiresAt)).rejects.toBeInstanceOf(
      UnauthenticatedError,
    );

    const unknown = `stw_${'A'.repeat(43)}`;
    await expect(authenticateToken(database.db, unknown, now)).rejects.toBeInstanceOf(UnauthenticatedError);
    await expect(authenticateToken(database.db, 'stw_short', now)).rejects.toBeInstanceOf(
      UnauthenticatedError,
    );
  });

  it('refuses a token for an unknown account and a token already expired', async () => {
    await expect(issueApiToken(database.db, 'no-such-account', { name: 'x' })).rejects.toMatchObject({
      code: 'ERR_NOT_FOUND',
    });
    const account = await createAccount(database.db, { name: 'judy' });
    await expect(
      issueApiToken(database.db, account.id, { name: 'x', expiresAt: new Date(Date.now() - 1000) }),
    ).rejects.toMatchObject({ code: 'ERR_INVALID_REQUEST' });
  });

  it('creates a full administrator when asked', async () => {
    await createAccount(database.db, { name: 'root', password, administrator: true });
    const principal = await authenticatePassword(database.db, 'root', password);
    expect(principal.grants).toEqual([{ objectClass: 'site', instanceId: '*', rights: ['administer'] }]);
  });
});
