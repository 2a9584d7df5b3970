#!/usr/bin/env node
'use strict';
// Entry point of the `provwatch` command; the CLI is compiled to dist/ by `npm run build`.
require('../dist/apps/cli/src/main.js').main();
