#!/usr/bin/env python3
"""Model registry benchmark: registered-models/search and
model-versions/search over N models x V versions (default 10,000 x 10).

The database is seeded directly with SQLite (the server creates the schema
first: start, stop, seed, start again). Each model has two tags and an
alias, each version a tag, a run id, a source and its own
last_updated_timestamp. One keep-alive connection, sequential requests
after two warm-ups; p50 of each:
- models, page: registered-models/search, no filter, max_results=100 (the
  first page as the Python client's fluent API asks for it), each model with
  its latest versions, tags and aliases;
- models, filter: name LIKE 'model-01%' (100 models) and tags.team = ...;
- versions, by name: model-versions/search?filter=name='<random model>'
  with the Python client's max_results=10000 (10 versions);
- versions, by run: filter=run_id='<random run>';
- versions, page: no filter, max_results=100 (default order,
  last_updated_timestamp DESC).
The same-run baseline is the server's own statements for the models page
and the versions-by-name search, run from Python's sqlite3 on the same
file (the main query, then per row the same follow-up queries: latest
versions, tags, aliases). The bench checks counts and names.
Usage: bench_registry.py BUILD_DIR [--models N] [--versions V] [--iters K]
[--smoke]"""
import random
import sqlite3
import sys
import time
import urllib.parse

from benchlib import (connect, exit_status, new_db, p50, parse_args, result,
                      start, stop, timed_get)

API = "/api/2.0/mlflow/"


def seed(db, n_models, n_versions, rnd):
    con = sqlite3.connect(db)
    t0 = 1700000000000
    con.executemany(
        "INSERT INTO registered_models (model_pk, name, creation_timestamp, "
        "last_updated_timestamp, description) VALUES (?, ?, ?, ?, ?)",
        [(i, "model-%05d" % i, t0 + i, t0 + n_models + rnd.randrange(10**7),
          "model %d" % i) for i in range(1, n_models + 1)])
    con.executemany(
        "INSERT INTO registered_model_tags VALUES (?, ?, ?)",
        [(i, k, v) for i in range(1, n_models + 1)
         for k, v in (("team", "team-%d" % (i % 10)),
                      ("task", "classification"))])
    stages = ["None", "Staging", "Production", "Archived"]
    versions, vtags, runs = [], [], []
    for i in range(1, n_models + 1):
        for v in range(1, n_versions + 1):
            run = "%032x" % rnd.getrandbits(128)
            runs.append(run)
            stage = stages[0] if v < n_versions - 2 else stages[
                n_versions - v]
            versions.append((i, v, t0 + v, t0 + rnd.randrange(10**8), None,
                             stage, "s3://bucket/model-%05d/%d" % (i, v), run,
                             "", "READY", None))
            vtags.append((i, v, "framework", "sklearn"))
    con.executemany("INSERT INTO model_versions VALUES "
                    "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", versions)
    con.executemany("INSERT INTO model_version_tags VALUES (?, ?, ?, ?)",
                    vtags)
    con.executemany("INSERT INTO registered_model_aliases VALUES (?, ?, ?)",
                    [(i, "champion", n_versions)
                     for i in range(1, n_models + 1)])
    con.commit()
    con.close()
    return runs


VCOLS = ("m.name, v.version, v.creation_timestamp, "
         "v.last_updated_timestamp, v.current_stage, v.description, "
         "v.source, v.run_id, v.run_link, v.status, v.status_message, "
         "v.model_pk")
LATEST = ("WITH s AS (SELECT current_stage AS stage, max(version) AS hi, "
          "min(version) AS lo FROM model_versions WHERE model_pk = ?1 AND "
          "current_stage != 'Deleted_Internal' GROUP BY current_stage) "
          "SELECT " + VCOLS + " FROM model_versions AS v JOIN "
          "registered_models AS m ON m.model_pk = v.model_pk JOIN s ON "
          "s.hi = v.version WHERE v.model_pk = ?1 ORDER BY s.lo")
VTAGS = ("SELECT key, value FROM model_version_tags WHERE model_pk = ? AND "
         "version = ? ORDER BY key")


def raw_models_page(con):
    """The server's statements for the first page of 100 models."""
    rows = con.execute(
        "SELECT m.model_pk, m.name, m.creation_timestamp, "
        "m.last_updated_timestamp, m.description FROM registered_models AS m "
        "WHERE 1 ORDER BY m.name ASC LIMIT 101 OFFSET 0").fetchall()[:100]
    for r in rows:
        for lv in con.execute(LATEST, (r[0],)).fetchall():
            con.execute(VTAGS, (lv[11], lv[1])).fetchall()
        con.execute("SELECT key, value FROM registered_model_tags WHERE "
                    "model_pk = ? ORDER BY key", (r[0],)).fetchall()
        con.execute("SELECT alias, version FROM registered_model_aliases "
                    "WHERE model_pk = ? ORDER BY alias", (r[0],)).fetchall()
    return len(rows)


def raw_versions_by_name(con, name):
    rows = con.execute(
        "SELECT " + VCOLS + " FROM model_versions AS v JOIN registered_models "
        "AS m ON m.model_pk = v.model_pk WHERE v.current_stage != "
        "'Deleted_Internal' AND (m.name = ?) ORDER BY "
        "v.last_updated_timestamp DESC, m.name ASC, v.version DESC "
        "LIMIT 10001 OFFSET 0", (name,)).fetchall()
    for r in rows:
        con.execute(VTAGS, (r[11], r[1])).fetchall()
    return len(rows)


def main():
    a = parse_args({"models": 10000, "versions": 10}, 50,
                   {"models": 300, "iters": 3})
    server, tmp, db = new_db(a.build, "gt-reg-", "reg.db")
    rnd = random.Random(11)
    runs = seed(db, a.models, a.versions, rnd)
    p, port = start(server, db, tmp)
    c = connect(port)

    def get(path, query):
        return timed_get(c, API + path + "?" +
                         urllib.parse.urlencode(query, doseq=True))

    def timed(path, make_query, check):
        for _ in range(2):
            get(path, make_query())
        times = []
        for _ in range(a.iters):
            q = make_query()
            dt, body = get(path, q)
            check(q, body)
            times.append(dt)
        return p50(times) * 1e3

    def check_page(q, b):
        ms = b["registered_models"]
        assert len(ms) == min(100, a.models), len(ms)
        assert ms[0]["name"] == "model-00001", ms[0]["name"]
        assert ms[0]["latest_versions"] and ms[0]["aliases"], ms[0]
        assert ("next_page_token" in b) == (a.models > 100)

    def check_like(q, b):
        assert all(m["name"].startswith("model-01")
                   for m in b.get("registered_models", [])), b

    def check_tag(q, b):
        ms = b["registered_models"]
        assert len(ms) == min(100, a.models // 10), len(ms)
        assert all(m["name"].endswith("3") for m in ms)

    def check_by_name(q, b):
        vs = b["model_versions"]
        assert len(vs) == a.versions, len(vs)
        want = q["filter"].split("'")[1]
        assert all(v["name"] == want and v["tags"] for v in vs)

    def check_by_run(q, b):
        vs = b["model_versions"]
        assert len(vs) == 1 and vs[0]["run_id"] == q["filter"].split("'")[1]

    def check_versions_page(q, b):
        vs = b["model_versions"]
        assert len(vs) == 100 and "next_page_token" in b
        ts = [v["last_updated_timestamp"] for v in vs]
        assert ts == sorted(ts, reverse=True)

    def random_model():
        return "model-%05d" % rnd.randint(1, a.models)

    res = {}
    res["models_page"] = timed("registered-models/search",
                               lambda: {"max_results": 100}, check_page)
    res["models_like"] = timed("registered-models/search",
                               lambda: {"filter": "name LIKE 'model-01%'",
                                        "max_results": 100}, check_like)
    res["models_tag"] = timed("registered-models/search",
                              lambda: {"filter": "tags.team = 'team-3'",
                                       "max_results": 100}, check_tag)
    res["versions_by_name"] = timed(
        "model-versions/search",
        lambda: {"filter": "name = '%s'" % random_model(),
                 "max_results": 10000}, check_by_name)
    res["versions_by_run"] = timed(
        "model-versions/search",
        lambda: {"filter": "run_id = '%s'" % rnd.choice(runs)}, check_by_run)
    res["versions_page"] = timed("model-versions/search",
                                 lambda: {"max_results": 100},
                                 check_versions_page)
    rc = stop(p)

    # the baseline: the same statements from Python on the same file
    con = sqlite3.connect("file:%s?mode=ro" % db, uri=True)
    con.execute("PRAGMA case_sensitive_like = ON")
    raw_page, raw_name = [], []
    for _ in range(max(3, a.iters)):
        t = time.perf_counter()
        n = raw_models_page(con)
        raw_page.append(time.perf_counter() - t)
        t = time.perf_counter()
        n2 = raw_versions_by_name(con, random_model())
        raw_name.append(time.perf_counter() - t)
    con.close()
    assert n == min(100, a.models) and n2 == a.versions, (n, n2)
    raw = {"models_page": p50(raw_page) * 1e3,
           "versions_by_name": p50(raw_name) * 1e3}

    print("registry of %d models x %d versions: models page p50 %.2f ms "
          "(raw statements %.2f ms), name LIKE %.2f ms, tag %.2f ms; "
          "versions by name p50 %.2f ms (raw %.2f ms), by run %.2f ms, "
          "page %.2f ms" % (a.models, a.versions, res["models_page"],
                            raw["models_page"], res["models_like"],
                            res["models_tag"], res["versions_by_name"],
                            raw["versions_by_name"], res["versions_by_run"],
                            res["versions_page"]))

    for name, key in (("models_search", "models_page"),
                      ("models_name_like", "models_like"),
                      ("models_tag", "models_tag"),
                      ("versions_by_name", "versions_by_name"),
                      ("versions_by_run", "versions_by_run"),
                      ("versions_page", "versions_page")):
        result("registry_%s_p50_ms" % name, res[key], 2, 10.0)
    result("registry_raw_models_page_p50_ms", raw["models_page"])
    result("registry_raw_versions_by_name_p50_ms", raw["versions_by_name"])
    result("registry_models_vs_raw", res["models_page"] / raw["models_page"])
    result("registry_versions_vs_raw",
           res["versions_by_name"] / raw["versions_by_name"])
    return exit_status("bench_registry", rc)

if __name__ == "__main__":
    sys.exit(main())
