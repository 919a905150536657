import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

/**
 * The web console (docs/console.md), built by `npm run build:console` into console/dist, which the
 * site server serves at /console. For development, `STEWARD_SITE_URL=http://127.0.0.1:8530 node
 * node_modules/vite/bin/vite.js console` serves it with the admin API proxied to a running site.
 */
const site = process.env['STEWARD_SITE_URL'] ?? 'http://127.0.0.1:8530';

export default defineConfig({
  base: '/console/',
  plugins: [react()],
  logLevel: 'warn',
  build: { outDir: 'dist', emptyOutDir: true, modulePreload: { polyfill: false } },
  server: {
    proxy: { '/api': site, '/console/session': site },
  },
});
