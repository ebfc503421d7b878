// SPDX-License-Identifier: MIT
//
// report.mjs: how the browser suites report: a PASS or FAIL line per
// check, and the closing "<suite>: N passed, M failed" line that
// tests/run_all.sh adds up (exit status 1 when a check failed).
import { suiteName } from '../integration/pgdb.mjs';

let suite = 'browser';
let passed = 0;
let failed = 0;

export const write = (s) => process.stdout.write(s + '\n');
export const oneLine = (s) => String(s).replace(/\s*\n\s*/g, ' ').slice(0, 1200);

// Names the suite for the closing line ("<name>-pg" on PostgreSQL).
export function startSuite(name) { suite = suiteName(name); }
export function pass(name) { passed++; write(`PASS ${name}`); }
export function fail(name, reason) { failed++; write(`FAIL ${name}: ${oneLine(reason)}`); }
export function check(name, cond, reason) {
  if (cond) pass(name); else fail(name, reason === undefined ? 'condition false' : reason);
  return !!cond;
}
export function eq(name, actual, expected) {
  const a = JSON.stringify(actual);
  const e = JSON.stringify(expected);
  return check(name, a === e, `got ${a}, expected ${e}`);
}
// Runs fn; an exception is one failed check named 'name'.
export async function step(name, fn) {
  try { await fn(); } catch (e) {
    fail(name, e && e.stack ? e.stack.split('\n').slice(0, 4).join(' | ') : String(e));
  }
}
// Prints the closing line and exits ('code' overrides the status).
export function finish(code) {
  write(`${suite}: ${passed} passed, ${failed} failed`);
  process.exit(code ?? (failed ? 1 : 0));
}
