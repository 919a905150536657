import { z } from 'zod';
import {
  clientAddressSchema,
  locateAnswerSchema,
  protocolLimits,
  serverLocatorLimits,
  serverLocatorPaths,
  type LocateAnswer,
} from '../../protocol/index.js';
import {
  acceptLocatorAnswer,
  certifiedSiteKeys,
  followRotations,
  PayloadInvalidError,
  trustRootFromPin,
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
  /**
   * A root key fingerprint pinned at install (`--root-key`), for an agent that holds no root yet:
   * the root is anchored on the answer's chain from this pin (C1), then the answer is verified.
   * Ignored when `root` is given.
   */
  pin?: string;
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
  /**
   * True when the site certificate chains to the given root (or the pinned key) and the answer is
   * signed by that site's key; false when the root was taken on first use from the answer itself.
   */
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
    throw new PayloadInvalidError(`${slpUrl.slice(0, 200)} is not an http(s) URL of a server locator point`);
  }
  return `${slpUrl.replace(/\/+$/, '')}${serverLocatorPaths.locate}`;
}

/**
 * C6: the addresses sent, within what the locator accepts: IP addresses only, each once, at most
 * protocolLimits.maxAddresses (the first ones). ERR_PAYLOAD_INVALID when none is left.
 */
function addressesToAsk(addresses: readonly string[]): string[] {
  const asked = [...new Set(addresses.filter((text) => clientAddressSchema.safeParse(text).success))].slice(
    0,
    protocolLimits.maxAddresses,
  );
  if (asked.length === 0) {
    throw new PayloadInvalidError(
      'None of the addresses given is an IP address; the locator needs at least one.',
    );
  }
  return asked;
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
 * section 3). Every exchange has a byte limit and a timeout (C6). With a root (or a pin): C1
 * rotations offered by the answer are followed from that root (or the root is anchored on the pin),
 * the site certificate must chain to it (C2), and the answer must be signed by that site's key,
 * for the site it names, in date, and for a boundary holding one of these addresses
 * (acceptLocatorAnswer, C2 locating). The MP key met next is still checked against its own
 * certificate (C2).
 */
export async function locateBySlp(
  slpUrl: string,
  addresses: readonly string[],
  options: LocateBySlpOptions,
): Promise<LocatedSite> {
  const url = locateUrl(slpUrl);
  const asked = addressesToAsk(addresses);
  const bytes = await boundedPostJson(
    url,
    { addresses: asked },
    {
      maxBytes: options.maxBytes ?? serverLocatorLimits.maxResponseBytes,
      timeoutMs: options.timeoutMs ?? serverLocatorLimits.timeoutMs,
      ...(options.fetch === undefined ? {} : { fetch: options.fetch }),
    },
  );
  const answer = parseAnswer(url, bytes);
  const { now } = options;
  const root =
    options.root !== undefined
      ? followRotations(options.root, answer.rootChain, now)
      : options.pin !== undefined
        ? trustRootFromPin(answer.rootChain, options.pin, now)
        : trustRootOnFirstUse(answer.rootChain, now);
  const certificate = verifySiteCertificate(answer.siteCertificate, root, now);
  const opened = acceptLocatorAnswer(answer.answer, {
    siteKeys: certifiedSiteKeys([certificate]),
    addresses: asked,
    now,
    ...(options.siteCode === undefined ? {} : { siteCode: options.siteCode }),
  });
  const { payload } = opened;
  return {
    siteCode: payload.siteCode,
    managementPointUrls: [...new Set(payload.managementPoints.flatMap((mp) => mp.urls))],
    managementPoints: payload.managementPoints.map((mp) => ({ name: mp.name, urls: [...mp.urls] })),
    verified: options.root !== undefined || options.pin !== undefined,
    boundary: payload.boundary,
    expiresAt: payload.expiresAt,
    root,
    rootChain: answer.rootChain,
  };
}
