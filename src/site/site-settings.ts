import { z } from 'zod';
import { switchSchema, type SettingsTable } from '../platform/settings.js';

/** The site server's tunables (`steward site start`), declared once (docs/configuration.md). */
export const siteServerSettings = {
  logLevel: {
    schema: z.enum(['fatal', 'error', 'warn', 'info', 'debug']),
    default: 'warn',
    help: 'the site server log level (logs go to standard error as JSON lines)',
  },
  inboxBatchSize: {
    schema: z.coerce.number().int().min(1).max(10_000),
    default: 500,
    help: 'reports applied per database transaction by the inbox processor',
  },
  collectionEvaluationInterval: {
    schema: z.coerce.number().int().min(10).max(86_400),
    default: 900,
    unit: 'seconds',
    help: 'time between full evaluations of every rule-based collection',
  },
  requestTimeout: {
    schema: z.coerce.number().int().min(1).max(3600),
    default: 120,
    unit: 'seconds',
    help: 'time a client has to send a whole request (headers: at most 60 s); slower ones get 408',
  },
  tls: {
    schema: z.enum(['auto', 'always', 'never']),
    default: 'auto' as const,
    help: 'HTTPS with the hierarchy CA: auto (unless the listen address is loopback), always, never (plain HTTP: loopback only, unless --insecure-http)',
  },
  insecureHttp: {
    schema: switchSchema,
    default: false,
    switch: true,
    help: 'serve plain HTTP on an address that is not loopback (passwords, tokens and inventory then cross the network in clear; logged and audited)',
  },
  tlsCertificate: {
    schema: z.string().max(4096),
    default: '',
    help: "an organisation's certificate (PEM chain) for the admin API and console, served on --admin-listen",
  },
  tlsKey: {
    schema: z.string().max(4096),
    default: '',
    help: 'the unencrypted PEM private key of --tls-certificate',
  },
  adminListen: {
    schema: z.string().max(300),
    default: '',
    help: 'HOST:PORT of a second listener for the admin API and console with the organisation certificate',
  },
  serverCertificateDays: {
    schema: z.coerce.number().min(0.0015).max(398),
    default: 90,
    unit: 'days',
    help: "validity of the site server's TLS certificate (renewed when a quarter is left)",
  },
  clientCertificateDays: {
    schema: z.coerce.number().min(0.0015).max(398),
    default: 365,
    unit: 'days',
    help: 'validity of the TLS client certificates issued to approved agents',
  },
  embeddedRoles: {
    schema: z.enum(['on', 'off']),
    default: 'on' as const,
    help: 'off: this host serves no client traffic (no management point, server locator point or legacy point here; distribution points on their own hosts pull content from it); see docs/scale-out.md',
  },
} satisfies SettingsTable;

export const siteSettingsPrefix = 'STEWARD_SITE';
