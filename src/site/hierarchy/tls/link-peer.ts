/**
 * Who may call a site link endpoint over HTTPS (docs/tls.md, "Site certificates"): a TLS client
 * certificate from the hierarchy CA that is a site server certificate (subject `<CODE> site
 * server`, serverAuth and clientAuth). Its site code must then be the site the signed envelope
 * claims to come from (receiver.ts), in addition to the signature checks of S3. Plain HTTP (a
 * loopback-only listener) carries no certificate and is left to S3 alone.
 */
import type { Socket } from 'node:net';
import { siteLinkPeer } from '../../../trust/tls/index.js';
import { SiteLinkPeerError } from '../hierarchy-errors.js';

/** The site code the connection's certificate names; undefined over plain HTTP. ERR_SITE_LINK_PEER otherwise. */
export function linkPeerSite(socket: Socket): string | undefined {
  const peer = siteLinkPeer(socket);
  switch (peer.kind) {
    case 'plain':
      return undefined;
    case 'site':
      return peer.siteCode;
    case 'none':
      throw new SiteLinkPeerError(
        `a site link over HTTPS needs the sending site's certificate from the hierarchy CA; the client presented ${peer.reason}`,
      );
    case 'other':
      throw new SiteLinkPeerError(
        `a site link over HTTPS needs a site server certificate; the client presented another (${peer.subject})`,
      );
  }
}
