import { sql } from 'kysely';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeEachBackend, type OpenedTestDatabase } from '../support/backends.js';

describeEachBackend('site database migrations', (open) => {
  let database: OpenedTestDatabase;
  beforeAll(async () => {
    database = await open();
  });
  afterAll(async () => {
    await database.discard();
  });

  it('creates every table of the site database', async () => {
    const tables = await sql<{ table_name: string }>`
      select table_name from information_schema.tables where table_schema = 'public' order by table_name`.execute(
      database.db,
    );
    const names = tables.rows.map((row) => row.table_name);
    for (const table of [
      'clients',
      'inventory_facts',
      'deployments',
      'report_inbox',
      'audit_log',
      'boundaries',
    ]) {
      expect(names).toContain(table);
    }
  });

  it('reads bigint counters and counts as numbers on every back end', async () => {
    const result = await database.db
      .selectFrom('clients')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .executeTakeFirstOrThrow();
    expect(result.n).toBe(0);
    expect(typeof result.n).toBe('number');
  });

  it('refuses to update or delete audit log entries', async () => {
    await database.db
      .insertInto('audit_log')
      .values({
        seq: 1,
        at: new Date(),
        actor: 'test',
        action: 'create',
        object_class: 'site',
        object_id: 'X',
        details: '{}',
        prev_hash: '0',
        hash: '1',
      })
      .execute();
    await expect(database.db.deleteFrom('audit_log').execute()).rejects.toThrow(/append-only/);
    await expect(database.db.updateTable('audit_log').set({ actor: 'mallory' }).execute()).rejects.toThrow(
      /append-only/,
    );
  });
});
