import type { Command } from 'commander';
import { z } from 'zod';
import { StewardError } from '../trust/index.js';

/**
 * One source for configuration (CONVENTIONS.md): each setting is declared once with its name, type,
 * default and help. The command-line flag (`--poll-interval`), the environment variable
 * (`STEWARD_AGENT_POLL_INTERVAL`) and the configuration reference (docs/configuration.md) are
 * derived from the declaration; values are validated with zod and the result is frozen.
 */
export interface SettingDeclaration<T extends z.ZodType = z.ZodType> {
  readonly schema: T;
  readonly default: z.input<T>;
  readonly help: string;
  /** The unit shown in the reference, e.g. "seconds". */
  readonly unit?: string;
  /** A switch: the flag takes no value (`--insecure-http`); the environment says true or false. */
  readonly switch?: true;
}

/** The schema of a switch: true or false, also spelled 1/0, yes/no in the environment. */
export const switchSchema = z
  .union([z.boolean(), z.enum(['true', 'false', '1', '0', 'yes', 'no'])])
  .transform((value) => value === true || value === 'true' || value === '1' || value === 'yes');

export type SettingsTable = Readonly<Record<string, SettingDeclaration>>;

export type SettingsOf<T extends SettingsTable> = { readonly [K in keyof T]: z.output<T[K]['schema']> };

export class SettingsError extends StewardError {
  readonly code = 'ERR_SETTINGS';
}

/** A default as help and the reference show it: an empty string is "none". */
function shownDefault(value: unknown): string {
  return value === '' ? 'none' : String(value);
}

/** `pollInterval` → `poll-interval`. */
export function flagName(name: string): string {
  return name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}

/** `pollInterval` with prefix `STEWARD_AGENT` → `STEWARD_AGENT_POLL_INTERVAL`. */
export function environmentName(prefix: string, name: string): string {
  return `${prefix}_${flagName(name).replace(/-/g, '_').toUpperCase()}`;
}

/** Adds one `--flag <value>` per setting to a command (no default there: precedence is resolved below). */
export function addSettingOptions(command: Command, table: SettingsTable, envPrefix: string): Command {
  for (const [name, setting] of Object.entries(table)) {
    command.option(
      setting.switch === true ? `--${flagName(name)}` : `--${flagName(name)} <value>`,
      `${setting.help}${setting.unit === undefined ? '' : ` (${setting.unit})`}; default ${shownDefault(setting.default)}; env ${environmentName(envPrefix, name)}`,
    );
  }
  return command;
}

/**
 * Resolves settings: the command-line flag wins, then the environment variable, then the default.
 * Every value is validated; an invalid one is an error naming where it came from.
 */
export function resolveSettings<T extends SettingsTable>(
  table: T,
  envPrefix: string,
  flags: Readonly<Record<string, unknown>>,
  env: Readonly<Record<string, string | undefined>> = process.env,
): SettingsOf<T> {
  const values: Record<string, unknown> = {};
  for (const [name, setting] of Object.entries(table)) {
    const envName = environmentName(envPrefix, name);
    const fromFlag = flags[name];
    const fromEnv = env[envName];
    const [raw, source] =
      fromFlag !== undefined
        ? [fromFlag, `--${flagName(name)}`]
        : fromEnv !== undefined
          ? [fromEnv, envName]
          : [setting.default, 'the default'];
    const parsed = setting.schema.safeParse(raw);
    if (!parsed.success) {
      throw new SettingsError(
        `${source}: ${z.prettifyError(parsed.error).replace(/\n/g, ' ')} (got ${JSON.stringify(raw)})`,
      );
    }
    values[name] = parsed.data;
  }
  return Object.freeze(values) as SettingsOf<T>;
}

/** The configuration reference of one table, as a markdown table. */
export function settingsReference(table: SettingsTable, envPrefix: string): string {
  const rows = Object.entries(table).map(
    ([name, s]) =>
      `| \`--${flagName(name)}\` | \`${environmentName(envPrefix, name)}\` | ${shownDefault(s.default)}${s.unit === undefined ? '' : ` ${s.unit}`} | ${s.help} |`,
  );
  return ['| flag | environment | default | meaning |', '| --- | --- | --- | --- |', ...rows].join('\n');
}
