#!/usr/bin/env node
// The `pouw` command: runs the compiled CLI (dist/cli/main.js) and exits with
// its code. Plain JavaScript so it runs before anything is compiled, and can
// say what is missing instead of failing with a module-resolution stack.
import { existsSync } from 'node:fs';

const entry = new URL('../dist/cli/main.js', import.meta.url);

if (!existsSync(entry)) {
  process.stderr.write(
    'error: the pouw CLI is not built (dist/cli/main.js is missing).\n' +
      'Run `npm install` (which builds it), or `npm run build` in a source checkout.\n',
  );
  process.exit(1);
}

let cli;
try {
  cli = await import(entry.href);
} catch (e) {
  if (e && e.code === 'ERR_MODULE_NOT_FOUND') {
    process.stderr.write(
      `error: the pouw CLI cannot load a module: ${e.message}\n` +
        'Run `npm install` to install dependencies, then `npm run build`.\n',
    );
    process.exit(1);
  }
  throw e;
}

process.exitCode = await cli.main(process.argv);
