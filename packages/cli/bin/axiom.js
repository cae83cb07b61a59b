#!/usr/bin/env node
// The installed `axiom` command; the program is built into dist/ by `npm ci` (prepare) or `npm run build`.
import '../dist/main.js';
