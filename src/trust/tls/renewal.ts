/**
 * Renewal before expiry (docs/tls.md): a certificate is renewed once less than a fraction (a
 * quarter by default) of its validity remains, so a daily check renews a 90-day certificate about
 * 22 days ahead and a one-hour test certificate 15 minutes ahead.
 */
import { certificateTimes, readCertificatePem } from './certificate-pem.js';

/** Default share of the validity left at which a certificate is renewed. */
export const defaultRenewalFraction = 0.25;

/**
 * True when less than `fraction` of the certificate's validity (notBefore to notAfter) remains at
 * `now`, or it has expired. ERR_TLS_CERTIFICATE_INVALID when the PEM cannot be read.
 */
export function certificateNeedsRenewal(pem: string, now: Date, fraction = defaultRenewalFraction): boolean {
  if (!(fraction > 0 && fraction < 1))
    throw new RangeError('certificateNeedsRenewal: fraction must be in (0, 1)');
  const { notBefore, notAfter } = certificateTimes(readCertificatePem(pem));
  const total = notAfter.getTime() - notBefore.getTime();
  const remaining = notAfter.getTime() - now.getTime();
  return remaining < total * fraction;
}
