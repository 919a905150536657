#!/usr/bin/env node
// The steward command. Runs the build in dist/ (`npm run build`).
import '../dist/steward.mjs';
