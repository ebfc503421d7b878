// SPDX-License-Identifier: MIT
//
// playwright.mjs: loads playwright-core for the browser suites from
// tests/browser/node_modules and launches Debian's Chromium with the one set
// of flags every suite uses. Nothing is installed here: `make test` runs
// tools/deps.sh first (chromium, npm ci in tests/browser); when something is
// missing anyway, the suite stops with one line saying what and how to get it.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const HERE = path.dirname(fileURLToPath(import.meta.url));

// Flags for headless Chromium as root in a container: --disable-dev-shm-usage
// because a container's /dev/shm is 64 MiB by default.
export const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
  '--no-first-run', '--disable-dev-shm-usage'];

export function chromiumPath() {
  const exe = process.env.CHROMIUM || '/usr/bin/chromium';
  if (!fs.existsSync(exe)) throw new Error(`${exe} is missing: run make test (tools/deps.sh installs Debian's chromium)`);
  return exe;
}

// Returns the playwright-core module.
export async function loadPlaywright() {
  const entry = path.join(HERE, 'node_modules', 'playwright-core', 'index.mjs');
  if (!fs.existsSync(entry)) {
    throw new Error(`${entry} is missing: run make test (tools/deps.sh runs npm ci in tests/browser)`);
  }
  return import(pathToFileURL(entry).href);
}

// Launches Chromium headless with CHROMIUM_ARGS; returns the Browser.
export async function launchChromium() {
  const exe = chromiumPath();
  const { chromium } = await loadPlaywright();
  return chromium.launch({ executablePath: exe, headless: true, args: CHROMIUM_ARGS });
}
