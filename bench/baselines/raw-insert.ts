/**
 * Baseline for ingest: the same status_messages rows the site commits, inserted by a plain script
 * into the same database with nothing else: multi-row INSERTs of 500 rows, one transaction each
 * (the site's own batch size). Run as its own process:
 * `node --import tsx raw-insert.ts '{"kind":"pglite","target":DIR,"rowsFile":FILE,"prefix":"raw1"}'`;
 * prints one JSON line `{rows, seconds}` and then deletes the rows it inserted.
 */
import { readFile } from 'node:fs/promises';
import { PGlite } from '@electric-sql/pglite';
import pg from 'pg';

export interface RawRow {
  message_id: string;
  client_id: string;
  site_code: string;
  deployment_id: string;
  status_id: number;
  severity: string;
  component: string;
  machine: string;
  occurred_at: string;
  insertion_strings: string;
}

interface Options {
  kind: 'pglite' | 'postgres';
  target: string;
  rowsFile: string;
  prefix: string;
}

const columns = [
  'message_id',
  'client_id',
  'site_code',
  'deployment_id',
  'status_id',
  'severity',
  'component',
  'machine',
  'occurred_at',
  'received_at',
  'insertion_strings',
];

type Query = (text: string, params: unknown[]) => Promise<unknown>;

async function insertAll(
  rows: readonly RawRow[],
  prefix: string,
  inTransaction: (work: (query: Query) => Promise<void>) => Promise<void>,
): Promise<number> {
  const started = performance.now();
  for (let at = 0; at < rows.length; at += 500) {
    const batch = rows.slice(at, at + 500);
    const params: unknown[] = [];
    const tuples = batch.map((row) => {
      const base = params.length;
      params.push(
        `${prefix}:${row.message_id}`,
        row.client_id,
        row.site_code,
        row.deployment_id,
        row.status_id,
        row.severity,
        row.component,
        row.machine,
        row.occurred_at,
        new Date(),
        row.insertion_strings,
      );
      return `(${columns.map((_, i) => `$${base + i + 1}`).join(', ')})`;
    });
    await inTransaction((query) =>
      query(`insert into status_messages (${columns.join(', ')}) values ${tuples.join(', ')}`, params).then(
        () => undefined,
      ),
    );
  }
  return (performance.now() - started) / 1000;
}

async function main(options: Options): Promise<void> {
  const rows = (await readFile(options.rowsFile, 'utf8'))
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as RawRow);
  let seconds: number;
  if (options.kind === 'pglite') {
    const db = new PGlite(options.target);
    await db.waitReady;
    seconds = await insertAll(rows, options.prefix, (work) =>
      db.transaction(async (tx) => work((text, params) => tx.query(text, params))),
    );
    await db.query(`delete from status_messages where message_id like $1`, [`${options.prefix}:%`]);
    await db.exec('vacuum status_messages');
    await db.close();
  } else {
    const client = new pg.Client({ connectionString: options.target });
    await client.connect();
    seconds = await insertAll(rows, options.prefix, async (work) => {
      await client.query('begin');
      await work((text, params) => client.query(text, params));
      await client.query('commit');
    });
    await client.query(`delete from status_messages where message_id like $1`, [`${options.prefix}:%`]);
    await client.query('vacuum status_messages');
    await client.end();
  }
  process.stdout.write(`${JSON.stringify({ rows: rows.length, seconds })}\n`);
}

if (import.meta.url === `file://${process.argv[1] ?? ''}`) {
  await main(JSON.parse(process.argv[2] ?? '{}') as Options);
}
