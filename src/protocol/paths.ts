/**
 * The client-facing HTTP paths (docs/spec/management-point.md). Versioned: a breaking change adds
 * /v2 beside /v1, so agents of several releases can share one management point.
 */
export const managementPointPaths = {
  trust: '/mp/v1/trust',
  register: '/mp/v1/register',
  policy: (clientId: string) => `/mp/v1/clients/${clientId}/policy`,
  clientCertificate: (clientId: string) => `/mp/v1/clients/${clientId}/certificate`,
  policyBody: (policyId: string, version: number) => `/mp/v1/policy-bodies/${policyId}/${version}`,
  reports: '/mp/v1/reports',
} as const;

export const distributionPointPaths = {
  manifest: (packageId: string, version: string) => `/dp/v1/packages/${packageId}/${version}/manifest`,
  file: (packageId: string, version: string, path: string) =>
    `/dp/v1/packages/${packageId}/${version}/files/${path.split('/').map(encodeURIComponent).join('/')}`,
} as const;

export const serverLocatorPaths = {
  locate: '/slp/v1/locate',
} as const;
