/** The site-to-site HTTP paths (docs/spec/hierarchy.md). Versioned like the client protocol. */
export const hierarchyPaths = {
  hello: '/hierarchy/v1/hello',
  join: '/hierarchy/v1/joins',
  joinStatus: (joinId: string) => `/hierarchy/v1/joins/${joinId}`,
  messages: '/hierarchy/v1/messages',
  /** The hierarchy CA and the root's endorsement of it (public; read before a child holds the CA). */
  tlsCa: '/hierarchy/v1/tls-ca',
} as const;
