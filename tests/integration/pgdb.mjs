// SPDX-License-Identifier: MIT
//
// pgdb.mjs: where the Node suites' servers keep their data.
// GREENTRACK_TEST_BACKEND=postgres runs a suite on PostgreSQL: each server
// folder gets a fresh database on the cluster GREENTRACK_TEST_PG names
// (made with psql from $PG_BIN or /usr/lib/postgresql/15/bin, dropped when
// the process exits), and the suite reports as "<suite>-pg". Otherwise the
// data is the SQLite file gt.db in the folder. Used by
// test_mlflow_npm.mjs and tests/browser/server.mjs.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as path from 'node:path';

export const ON_POSTGRES = process.env.GREENTRACK_TEST_BACKEND === 'postgres';

// The name a suite reports under.
export function suiteName(name) { return ON_POSTGRES ? `${name}-pg` : name; }

const PSQL = path.join(process.env.PG_BIN || '/usr/lib/postgresql/15/bin', 'psql');
const made = new Map(); // folder -> [database name, URL]

function clusterUrl(db) {
  const base = process.env.GREENTRACK_TEST_PG || '';
  const cut = base.lastIndexOf('/');
  if (!/^postgres(ql)?:\/\//.test(base) || cut < 12) throw new Error('GREENTRACK_TEST_PG is not a PostgreSQL URL (make test starts one)');
  return `${base.slice(0, cut)}/${db}`;
}

function psql(sql) {
  execFileSync(PSQL, ['-q', '-X', '-v', 'ON_ERROR_STOP=1', '-d', clusterUrl('postgres'), '-c', sql], { stdio: ['ignore', 'ignore', 'pipe'] });
}

// The --db target of a server whose folder is 'dir': the same for every
// server started on that folder (a restart finds its data).
export function dbTarget(dir) {
  if (!ON_POSTGRES) return path.join(dir, 'gt.db');
  if (!made.has(dir)) {
    const name = `js_${process.pid}_${made.size}_${randomBytes(4).toString('hex')}`;
    psql(`CREATE DATABASE ${name}`);
    if (made.size === 0) process.on('exit', dropAll);
    made.set(dir, [name, clusterUrl(name)]);
  }
  return made.get(dir)[1];
}

function dropAll() {
  for (const [name] of made.values()) {
    try { psql(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`); } catch { /* the cluster is gone: nothing to drop */ }
  }
  made.clear();
}
