import { z } from 'zod';
import {
  reportBodySchemas,
  type HeartbeatBody,
  type InventoryBody,
  type StatusBody,
} from '../../protocol/index.js';
import { PayloadInvalidError, type ClientReportPayload } from '../../trust/index.js';

export type TypedReport =
  | { type: 'heartbeat'; body: HeartbeatBody }
  | { type: 'inventory'; body: InventoryBody }
  | { type: 'status'; body: StatusBody };

/** Parses a verified report's body with the schema of its type (C6: every field bounded). */
export function typedReportBody(payload: ClientReportPayload): TypedReport {
  const schema = reportBodySchemas[payload.reportType];
  const parsed = schema.safeParse(payload.body);
  if (!parsed.success) {
    throw new PayloadInvalidError(
      `the ${payload.reportType} report body is invalid: ${z.prettifyError(parsed.error)}`,
    );
  }
  return { type: payload.reportType, body: parsed.data } as TypedReport;
}
