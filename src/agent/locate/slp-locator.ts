import { z } from 'zod';
import {
  locateAnswerSchema,
  locateRequestSchema,
  serverLocatorLimits,
  serverLocatorPaths,
  type LocateAnswer,
} from '../../protocol/index.js';
import {
  acceptLocatorAnswer,
  certifiedSiteKeys,
  followRotations,
  trustRootOnFirstUse,
  verifySiteCertificate,
  type TrustedRoot,
} from '../../trust/index.js';
import { boundedPostJson } from './bounded-post.js';
import { LocatorResponseError } from './locate-errors.js';

export interface LocateBySlpOptions {
  /**
   * The root the agent holds (pinned or from the directory, C1). With it the answer is verified
   * (C2 locating); without it (before a root is known, trust on first use) the answer is only
   * checked for consistency with the root chain it came with, and `verified` is false.
   */
  root?: TrustedRoot;
  /** The site the agent belongs to, when it knows one: an answer for another site is refused. */
  siteCode?: string;
  /** One "now" for every time check of this operation. */
  now: Date;
  fetch?: typeof fetch;
  /** C6 limits; default serverLocatorLimits. */
  timeoutMs?: number;
  maxBytes?: number;
}

export interface LocatedSite {
  siteCode: string;
  /** Every management point URL, in the order the answer lists them (management points by name). */
  managementPointUrls: string[];
  managementPoints: { name: string; urls: string[] }[];
  /** True when the site certificate chains to the given root and the answer is signed by that site's key. */
  verified: boolean;
  /** The boundary that matched (canonical subnet or range). */
  boundary: string;
  /** When the answer expires; locate again after it. */
  expiresAt: string;
  /** The root after following the rotations the answer's chain offered (the given root, or the first-use root). */
  root: TrustedRoot;
  /** The root chain as the locator sent it (for the agent's trust state). */
  rootChain: string[];
}

function locateUrl(slpUrl: string): string {
  const parsed = URL.canParse(slpUrl) ? new URL(slpUrl) : undefined;
  if (
    parsed === undefined ||
    (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') ||
    parsed.username !== '' ||
    parsed.password !== ''
  ) {
    throw new LocatorResponseError(`${slpUrl.slice(0, 200)} is not an http(s) URL of a server locator point`);
  }
  return `${slpUrl.replace(/\/+$/, '')}${serverLocatorPaths.locate}`;
}

function parseAnswer(url: string, bytes: Buffer): LocateAnswer {
  let json: unknown;
  try {
    json = JSON.parse(bytes.toString('utf8'));
  } catch (cause) {
    throw new LocatorResponseError(`${url} did not answer JSON`, { cause });
  }
  const parsed = locateAnswerSchema.safeParse(json);
  if (!parsed.success) {
    throw new LocatorResponseError(
      `${url} answered an invalid locate answer: ${z.prettifyError(parsed.error)}`,
    );
  }
  return parsed.data;
}

/**
 * Asks a server locator point which site and management points serve these addresses (DESIGN.md
 * section 3). Every exchange has a byte limit and a timeout (C6). With a root: C1 rotations offered
 * by the answer are followed from that root, the site certificate must chain to it (C2), and the
 * answer must be signed by that site's key, for the site it names, in date, and for a boundary
 * holding one of these addresses (acceptLocatorAnswer, C2 locating). The MP key met next is still
 * checked against its own certificate (C2).
 */
export async function locateBySlp(
  slpUrl: string,
  addresses: readonly string[],
  options: LocateBySlpOptions,
): Promise<LocatedSite> {
  const url = locateUrl(slpUrl);
  const request = locateRequestSchema.safeParse({ addresses: [...addresses] });
  if (!request.success) {
    throw new LocatorResponseError(
      `cannot ask the locator about these addresses: ${z.prettifyError(request.error)}`,
    );
  }
  const bytes = await boundedPostJson(url, request.data, {
    maxBytes: options.maxBytes ?? serverLocatorLimits.maxResponseBytes,
    timeoutMs: options.timeoutMs ?? serverLocatorLimits.timeoutMs,
    ...(options.fetch === undefined ? {} : { fetch: options.fetch }),
  });
  const answer = parseAnswer(url, bytes);
  const { now } = options;
  const root =
    options.root === undefined
      ? trustRootOnFirstUse(answer.rootChain, now)
      : followRotations(options.root, answer.rootChain, now);
  const certificate = verifySiteCertificate(answer.siteCertificate, root, now);
  const opened = acceptLocatorAnswer(answer.answer, {
    siteKeys: certifiedSiteKeys([certificate]),
    addresses,
    now,
    ...(options.siteCode === undefined ? {} : { siteCode: options.siteCode }),
  });
  const { payload } = opened;
  return {
    siteCode: payload.siteCode,
    managementPointUrls: [...new Set(payload.managementPoints.flatMap((mp) => mp.urls))],
    managementPoints: payload.managementPoints.map((mp) => ({ name: mp.name, urls: [...mp.urls] })),
    verified: options.root !== undefined,
    boundary: payload.boundary,
    expiresAt: payload.expiresAt,
    root,
    rootChain: answer.rootChain,
  };
}
