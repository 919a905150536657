import type { Migration, MigrationProvider } from 'kysely/migration';
import * as initial from './001-initial.js';

/** The numbered migrations, in order. Add new ones at the end; never edit a released one. */
const migrations: Record<string, Migration> = {
  '001-initial': initial,
};

export const siteMigrations: MigrationProvider = {
  getMigrations: () => Promise.resolve(migrations),
};
