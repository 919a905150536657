/** The site-to-site HTTP paths (docs/spec/hierarchy.md). Versioned like the client protocol. */
export const hierarchyPaths = {
  hello: '/hierarchy/v1/hello',
  join: '/hierarchy/v1/joins',
  joinStatus: (joinId: string) => `/hierarchy/v1/joins/${joinId}`,
  messages: '/hierarchy/v1/messages',
} as const;
