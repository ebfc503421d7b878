// SPDX-License-Identifier: MIT
//
// playwright.mjs: loads playwright-core for the browser suites from
// tests/browser/node_modules, launches Debian's Chromium with the one set
// of flags every suite uses, and opens the pages they watch for errors
// and for requests to anywhere but the server. Nothing is installed here: `make test` runs
// tools/deps.sh first (chromium, npm ci in tests/browser); when something is
// missing anyway, the suite stops with one line saying what and how to get it.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { check } from './report.mjs';

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

// A console error a page logs for a failed load of a URL that holds one
// of 'parts' (an answer the suite expects to be refused).
export const failedLoad = (...parts) => (text, url) => /Failed to load resource/.test(text) && parts.some((p) => url.includes(p));

// A page in a new browser context ('options': viewport, colour scheme...),
// every wait bounded by 'timeout', and what it did: errors (uncaught
// errors and console errors but those ignored(text, url) expects),
// requests ({url, method, range}), and external(): the requests to none
// of 'origins' (the servers' URLs), blob: or data:.
export async function openPage(browser, options, { timeout, origins, ignored = () => false }) {
  const context = await browser.newContext(options);
  context.setDefaultTimeout(timeout);
  context.setDefaultNavigationTimeout(timeout);
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  page.on('console', (m) => {
    const url = m.location().url || '';
    if (m.type() === 'error' && !ignored(m.text(), url)) errors.push(`${m.text()} ${url}`);
  });
  const requests = [];
  page.on('request', (r) => requests.push({ url: r.url(), method: r.method(), range: r.headers().range || null }));
  const external = () => requests.filter((r) => ![...origins, 'blob:', 'data:'].some((o) => r.url.startsWith(o)));
  return { context, page, errors, requests, external };
}

// The closing checks of a page: no errors ('detail' added to the
// report), nothing fetched from outside the server.
export function checkPageClean({ errors, external }, detail = '') {
  check('no page errors', errors.length === 0, errors.slice(0, 5).join(' | ') + detail);
  check('nothing fetched from outside the server', external().length === 0, external().slice(0, 5).map((r) => r.url).join(' '));
}
