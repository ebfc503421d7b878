// SPDX-License-Identifier: MIT
//
// playwright.mjs: loads playwright-core for the browser suites from
// tests/browser/node_modules, running `npm ci` there first when it is
// missing (versions pinned in package-lock.json), so whichever suite runs
// first on a fresh checkout installs it.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const HERE = path.dirname(fileURLToPath(import.meta.url));

// Returns the playwright-core module; 'log' receives one progress line.
export async function loadPlaywright(log = () => {}) {
  const entry = path.join(HERE, 'node_modules', 'playwright-core', 'index.mjs');
  if (!fs.existsSync(entry)) {
    log(`# ${entry} missing: running npm ci in ${HERE}`);
    const opts = { cwd: HERE, encoding: 'utf8', timeout: 180000 };
    let r = spawnSync('npm', ['ci', '--no-audit', '--no-fund'], opts);
    if (r.status !== 0) r = spawnSync('npm', ['install', '--no-audit', '--no-fund'], opts);
    if (!fs.existsSync(entry)) {
      const why = String((r.stderr || '') + (r.stdout || '')).replace(/\s*\n\s*/g, ' ').slice(0, 1200);
      throw new Error(`npm install in ${HERE} failed: ${why}`);
    }
  }
  return import(pathToFileURL(entry).href);
}
