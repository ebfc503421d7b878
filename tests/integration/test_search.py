# SPDX-License-Identifier: MIT
"""runs/search and experiments/search: filter grammar, comparators, LIKE vs
ILIKE, IN/NOT IN, quoting, order_by (missing last, NaN before missing),
default tie-breaks, paging, view types (specs/mlflow-rest.md §6)."""

import base64
import json
import time

from harness import ServerTestCase, uniq


def ok(resp):
    assert resp.status == 200, resp
    return resp.body


def log_batch(c, rid, metrics=(), params=(), tags=()):
    """runs/log-batch of (key, value, timestamp, step) metrics and
    (key, value) params and tags; asserts 200."""
    ok(c.post("runs/log-batch", {
        "run_id": rid,
        "metrics": [{"key": k, "value": v, "timestamp": ts, "step": st}
                    for k, v, ts, st in metrics],
        "params": [{"key": k, "value": v} for k, v in params],
        "tags": [{"key": k, "value": v} for k, v in tags]}))


class RunSearchTests(ServerTestCase):
    """A read-only fixture shared by every test:

    run    name     start  status    acc(latest)  loss  a.b  params                 tags
    r1     alpha    1000   FINISHED  0.9 (0.1@0)  0.5   1    lr=0.01 model=CNN      team=Vision env=prod
    r2     beta     2000   RUNNING   0.7          NaN        lr=0.02 model=cnn      team=vision
    r3     Gamma    3000   FAILED    0.8                     lr=0.1  model=RNN      user-name=bob env=dev
    r4     delta    3000   KILLED                            model=Transformer
    r5     eps      4000   (deleted) 1.0
    r6 (other experiment) zeta 500  acc=0.95
    """

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        c = cls.client
        cls.eid = ok(c.post("experiments/create",
                            {"name": uniq("search")}))["experiment_id"]
        cls.eid2 = ok(c.post("experiments/create",
                             {"name": uniq("search2")}))["experiment_id"]
        cls.empty_eid = ok(c.post("experiments/create",
                                  {"name": uniq("empty")}))["experiment_id"]

        def run(eid, name, start, user="u"):
            return ok(c.post("runs/create", {
                "experiment_id": eid, "run_name": name, "start_time": start,
                "user_id": user}))["run"]["info"]["run_id"]

        def batch(rid, metrics=(), params=(), tags=()):
            log_batch(c, rid, metrics, params, tags)

        cls.r1 = run(cls.eid, "alpha", 1000, "alice")
        batch(cls.r1, [("acc", 0.1, 10, 0), ("acc", 0.9, 5, 1),
                       ("loss", 0.5, 1, 0), ("a.b", 1, 1, 0)],
              [("lr", "0.01"), ("model", "CNN")],
              [("team", "Vision"), ("env", "prod")])
        ok(c.post("runs/update", {"run_id": cls.r1, "status": "FINISHED",
                                  "end_time": 2000}))
        cls.r2 = run(cls.eid, "beta", 2000)
        batch(cls.r2, [("acc", 0.7, 1, 0), ("loss", "NaN", 1, 0)],
              [("lr", "0.02"), ("model", "cnn")], [("team", "vision")])
        cls.r3 = run(cls.eid, "Gamma", 3000)
        batch(cls.r3, [("acc", 0.8, 1, 0)],
              [("lr", "0.1"), ("model", "RNN")],
              [("user-name", "bob"), ("env", "dev")])
        ok(c.post("runs/update", {"run_id": cls.r3, "status": "FAILED"}))
        cls.r4 = run(cls.eid, "delta", 3000)
        batch(cls.r4, params=[("model", "Transformer")])
        ok(c.post("runs/update", {"run_id": cls.r4, "status": "KILLED"}))
        cls.r5 = run(cls.eid, "eps", 4000)
        batch(cls.r5, [("acc", 1.0, 1, 0)])
        ok(c.post("runs/delete", {"run_id": cls.r5}))
        cls.r6 = run(cls.eid2, "zeta", 500)
        batch(cls.r6, [("acc", 0.95, 1, 0)])
        # r3 and r4 share start_time: ties are broken by run_id ASC
        cls.r34 = sorted([cls.r3, cls.r4])
        cls.active = [cls.r1, cls.r2, cls.r3, cls.r4]

    def ids(self, flt=None, order_by=None, eids=None, **kw):
        return self.search_run_ids(eids or [self.eid], flt, order_by, **kw)

    def same(self, flt, expected):
        got = self.ids(flt)
        self.assertEqual(sorted(got), sorted(expected),
                         "filter %r: got %s" % (flt, self.names(got)))

    def names(self, ids):
        m = {self.r1: "r1", self.r2: "r2", self.r3: "r3", self.r4: "r4",
             self.r5: "r5", self.r6: "r6"}
        return [m.get(i, i) for i in ids]

    # -- filters: metrics ----------------------------------------------------
    def test_metric_comparators(self):
        r1, r2, r3 = self.r1, self.r2, self.r3
        self.same("metrics.acc > 0.75", [r1, r3])
        self.same("metrics.acc >= 0.8", [r1, r3])
        self.same("metrics.acc < 0.8", [r2])
        self.same("metrics.acc <= 0.8", [r2, r3])
        self.same("metrics.acc = 0.9", [r1])
        self.same("metrics.acc != 0.9", [r2, r3])  # r4 has no acc: never
        self.same("metrics.acc > 7e-1", [r1, r3])
        self.same("metrics.acc > -1", [r1, r2, r3])
        self.same("metrics.acc >= 1", [])

    def test_whitespace_and_spacing(self):
        r1, r3 = self.r1, self.r3
        self.same("metrics.acc>0.75", [r1, r3])
        self.same("  metrics.acc   >   0.75  ", [r1, r3])
        self.same("metrics.acc > 0.75\nAND\tparams.lr='0.01'", [r1])
        self.same("params.model='RNN'", [r3])

    def test_metric_filter_uses_latest_value(self):
        # r1 has an older point acc=0.1 at step 0; its latest is 0.9
        self.same("metrics.acc < 0.5", [])

    def test_metric_key_with_dot_and_quotes(self):
        self.same("metrics.a.b = 1", [self.r1])
        self.same('metrics."a.b" = 1', [self.r1])
        self.same("metrics.`a.b` = 1", [self.r1])
        self.same("metric.acc = 0.9", [self.r1])

    # -- filters: params -----------------------------------------------------
    def test_param_comparators(self):
        r1, r2, r3, r4 = self.active
        self.same("params.lr = '0.01'", [r1])
        self.same('params.lr = "0.02"', [r2])
        self.same("params.model != 'CNN'", [r2, r3, r4])
        self.same("params.lr != '0.01'", [r2, r3])  # r4 has no lr
        self.same("param.model = 'cnn'", [r2])
        self.same("parameter.model = 'RNN'", [r3])
        self.same("parameters.model = 'RNN'", [r3])

    def test_like_is_case_sensitive_ilike_is_not(self):
        r1, r2, r3, r4 = self.active
        self.same("params.model LIKE 'c%'", [r2])
        self.same("params.model LIKE 'C%'", [r1])
        self.same("params.model like 'C%'", [r1])
        self.same("params.model ILIKE 'c%'", [r1, r2])
        self.same("params.model ilike 'CNN'", [r1, r2])
        self.same("params.model LIKE '%NN'", [r1, r3])
        self.same("params.model LIKE '_NN'", [r1, r3])
        self.same("params.model LIKE '%'", [r1, r2, r3, r4])
        self.same("params.model LIKE '__'", [])
        self.same("tags.team LIKE 'V%'", [r1])
        self.same("tags.team ILIKE 'V%'", [r1, r2])
        self.same("attributes.run_name LIKE 'g%'", [])
        self.same("attributes.run_name ILIKE 'g%'", [r3])

    def test_backslash_in_like_is_a_plain_character(self):
        # no escape character: a backslash matches itself on every engine
        # (PostgreSQL's LIKE would otherwise take it as one, and "\_" as a
        # plain "_"), and a pattern may end with one. The filter grammar
        # reads \\ in a quoted string as one backslash.
        exp = self.create_experiment()
        rid = self.create_run(exp)["info"]["run_id"]
        self.ok(self.post("runs/set-tag", {"run_id": rid, "key": "path",
                                           "value": "C:\\dir\\ax\\"}))

        def ids(flt):
            b = self.ok(self.search_runs([exp], flt))
            return [r["info"]["run_id"] for r in b.get("runs", [])]
        self.assertEqual(ids("tags.path LIKE 'C:\\dir%'"), [rid])
        self.assertEqual(ids("tags.path LIKE '%\\\\_x\\\\'"), [rid])
        self.assertEqual(ids("tags.path ILIKE 'c:\\\\DIR\\\\_X\\\\'"),
                         [rid])
        self.assertEqual(ids("tags.path LIKE 'C:dir%'"), [])
        self.assertEqual(ids("tags.path LIKE '%\\\\'"), [rid])

    def test_equality_is_case_sensitive(self):
        self.same("params.model = 'CNN'", [self.r1])
        self.same("tags.team = 'vision'", [self.r2])
        self.same("attributes.run_name = 'gamma'", [])

    # -- filters: tags -------------------------------------------------------
    def test_tag_filters(self):
        r1, r2, r3, r4 = self.active
        self.same("tags.team = 'Vision'", [r1])
        self.same("tags.team != 'Vision'", [r2])  # runs without the tag: no
        self.same("tag.env = 'dev'", [r3])
        self.same("tags.\"user-name\" = 'bob'", [r3])
        self.same("tags.`user-name` = 'bob'", [r3])
        self.same("tags.`mlflow.runName` = 'alpha'", [r1])
        self.same("tags.\"mlflow.runName\" = 'beta'", [r2])
        self.same("`tags`.team = 'Vision'", [r1])

    # -- filters: attributes -------------------------------------------------
    def test_attribute_filters(self):
        r1, r2, r3, r4 = self.active
        self.same("attributes.run_name = 'alpha'", [r1])
        self.same("run_name = 'beta'", [r2])
        self.same("attributes.status = 'FINISHED'", [r1])
        self.same("attribute.status != 'RUNNING'", [r1, r3, r4])
        self.same("attr.status = 'KILLED'", [r4])
        self.same("run.status = 'FAILED'", [r3])
        self.same("attributes.user_id = 'alice'", [r1])
        self.same("attributes.start_time > 1500", [r2, r3, r4])
        self.same("attributes.start_time = 3000", [r3, r4])
        self.same("attributes.start_time <= 2000", [r1, r2])
        self.same("attributes.created >= 3000", [r3, r4])
        self.same("attributes.end_time = 2000", [r1])
        self.same("attributes.artifact_uri LIKE '%%%s%%'" % r1, [r1])
        self.same("attributes.run_id = '%s'" % r2, [r2])
        self.same("attributes.run_id != '%s'" % r2, [r1, r3, r4])

    def test_run_id_in(self):
        r1, r2, r3, r4 = self.active
        self.same("attributes.run_id IN ('%s', '%s')" % (r1, r3), [r1, r3])
        self.same("attributes.run_id NOT IN ('%s', '%s')" % (r1, r3),
                  [r2, r4])
        self.same("attributes.run_id in ('%s')" % r2, [r2])
        self.same("attributes.run_id not in ('%s')" % r2, [r1, r3, r4])
        # ids with upper case letters are dropped
        self.same("attributes.run_id IN ('%s', '%s')" % (r1.upper(), r2),
                  [r2])
        # deleted runs are not found in the ACTIVE view
        self.same("attributes.run_id IN ('%s')" % self.r5, [])

    def test_and_combinations(self):
        r1, r2, r3, r4 = self.active
        self.same("metrics.acc > 0.5 and params.model ILIKE 'cnn'", [r1, r2])
        self.same("metrics.acc > 0.5 AND params.model ILIKE 'cnn' AND "
                  "tags.team = 'Vision'", [r1])
        self.same("params.model LIKE '%' AND attributes.start_time < 3000",
                  [r1, r2])
        self.same("", [r1, r2, r3, r4])

    def test_invalid_filters(self):
        bad = [
            "metrics.acc > 'x'",
            "params.lr = 0.01",
            "params.lr > '1'",
            "tags.team < 'x'",
            "metrics.acc LIKE '1'",
            "foo.bar = 1",
            "metrics.acc > 1 OR metrics.acc < 0",
            "metrics.acc >",
            "metrics.acc",
            "= 1",
            "attributes.status IN ('FINISHED')",
            "params.lr IN ('0.01')",
            "attributes.nosuchattr = 'x'",
            "attributes.start_time > 'abc'",
            "attributes.run_name = unquoted",
            "metrics.acc > 1; DROP TABLE runs",
            "(metrics.acc > 1)",
            "NOT metrics.acc > 1",
            "metrics.acc > 1 AND",
            "metrics.acc == 1",
            "attributes.run_id IN 'x'",
            "datasets.foo = 'x'",
        ]
        for f in bad:
            with self.subTest(filter=f):
                self.assertBadParam(self.search_runs([self.eid], f))

    # -- order_by ------------------------------------------------------------
    def order(self, order_by, **kw):
        return self.names(self.ids(None, order_by, **kw))

    def test_default_order(self):
        # start_time DESC, then run_id ASC
        self.assertEqual(self.ids(),
                         self.r34 + [self.r2, self.r1])

    def test_order_by_metric(self):
        n34 = self.names(self.r34)
        self.assertEqual(self.order(["metrics.acc DESC"]),
                         ["r1", "r3", "r2", "r4"])
        self.assertEqual(self.order(["metrics.acc"]),
                         ["r2", "r3", "r1", "r4"])
        self.assertEqual(self.order(["metrics.acc asc"]),
                         ["r2", "r3", "r1", "r4"])
        # NaN after real values, before missing; missing last either way
        self.assertEqual(self.order(["metrics.loss ASC"]),
                         ["r1", "r2"] + n34)
        self.assertEqual(self.order(["metrics.loss DESC"]),
                         ["r1", "r2"] + n34)

    def test_order_by_param_tag_strings(self):
        n34 = self.names(self.r34)
        # string comparison (byte order): CNN < RNN < Transformer < cnn
        self.assertEqual(self.order(["params.model"]),
                         ["r1", "r3", "r4", "r2"])
        self.assertEqual(self.order(["params.model DESC"]),
                         ["r2", "r4", "r3", "r1"])
        self.assertEqual(self.order(["params.lr DESC"]),
                         ["r3", "r2", "r1", "r4"])
        self.assertEqual(self.order(["tags.team"]), ["r1", "r2"] + n34)
        self.assertEqual(self.order(["tags.team DESC"]), ["r2", "r1"] + n34)
        self.assertEqual(self.order(["tags.`mlflow.runName` DESC"]),
                         ["r4", "r2", "r1", "r3"])

    def test_order_by_attributes(self):
        self.assertEqual(self.order(["attributes.run_name"]),
                         ["r3", "r1", "r2", "r4"])  # Gamma < alpha < ...
        self.assertEqual(self.order(["run_name DESC"]),
                         ["r4", "r2", "r1", "r3"])
        self.assertEqual(self.order(["attributes.start_time ASC"]),
                         ["r1", "r2"] + self.names(self.r34))
        self.assertEqual(self.order(["created"]),
                         ["r1", "r2"] + self.names(self.r34))
        self.assertEqual(self.order(["attributes.status"]),
                         ["r3", "r1", "r4", "r2"])
        # end_time: only r1 has one; missing last
        self.assertEqual(self.order(["attributes.end_time DESC"])[0], "r1")

    def test_order_by_multiple(self):
        self.assertEqual(self.order(["tags.env", "params.model DESC"]),
                         ["r3", "r1", "r2", "r4"])
        self.assertEqual(
            self.order(["attributes.start_time DESC", "run_id DESC"]),
            self.names(list(reversed(self.r34)) + [self.r2, self.r1]))

    def test_invalid_order_by(self):
        bad = [["metrics.acc sideways"], ["metrics.acc DESC extra"],
               ["datasets.name"], ["metrics.acc", "metrics.acc DESC"],
               ["nosuch"], ["metrics."], ["foo.bar"],
               ["metrics.acc; DROP TABLE runs"]]
        for ob in bad:
            with self.subTest(order_by=ob):
                self.assertBadParam(self.search_runs([self.eid], None, ob))

    # -- results -------------------------------------------------------------
    def test_result_shape(self):
        b = self.ok(self.search_runs([self.eid],
                                     "attributes.run_id = '%s'" % self.r1))
        self.assertEqual(len(b["runs"]), 1)
        self.assertNotIn("next_page_token", b)
        run = b["runs"][0]
        self.assertEqual(run["info"]["run_id"], self.r1)
        self.assertEqual(run["info"]["run_uuid"], self.r1)
        self.assertEqual(run["info"]["status"], "FINISHED")
        self.assertEqual(run["info"]["end_time"], 2000)
        m = self.metrics_of(run)
        self.assertEqual(set(m), {"acc", "loss", "a.b"})
        self.assertEqual(m["acc"]["value"], 0.9)  # latest only
        self.assertEqual(m["acc"]["step"], 1)
        self.assertEqual(self.params_of(run), {"lr": "0.01", "model": "CNN"})
        tags = self.run_tags(run)
        self.assertEqual(tags["team"], "Vision")
        self.assertEqual(tags["mlflow.runName"], "alpha")
        b = self.ok(self.search_runs([self.eid],
                                     "attributes.run_id = '%s'" % self.r2))
        self.assertEqual(self.metrics_of(b["runs"][0])["loss"]["value"],
                         "NaN")

    def test_empty_results(self):
        b = self.ok(self.search_runs([self.eid], "metrics.acc > 100"))
        self.assertNotIn("runs", b)
        self.assertNotIn("next_page_token", b)
        b = self.ok(self.search_runs([self.empty_eid]))
        self.assertNotIn("runs", b)
        b = self.ok(self.search_runs([]))
        self.assertNotIn("runs", b)
        b = self.ok(self.post("runs/search", {}))
        self.assertNotIn("runs", b)

    def test_unknown_experiment_ids(self):
        r = self.search_runs(["987654"])
        self.assertIn(r.status, (200, 404), repr(r))
        if r.status == 200:
            self.assertNotIn("runs", r.body)

    def test_multiple_experiments(self):
        got = self.ids(eids=[self.eid, self.eid2])
        self.assertEqual(got, self.r34 + [self.r2, self.r1, self.r6])
        self.assertEqual(self.ids("metrics.acc > 0.85",
                                  ["metrics.acc DESC"],
                                  eids=[self.eid, self.eid2]),
                         [self.r6, self.r1])

    # -- view types ----------------------------------------------------------
    def test_view_types(self):
        self.assertEqual(sorted(self.ids()), sorted(self.active))
        self.assertEqual(sorted(self.ids(run_view_type="ACTIVE_ONLY")),
                         sorted(self.active))
        self.assertEqual(self.ids(run_view_type="DELETED_ONLY"), [self.r5])
        self.assertEqual(sorted(self.ids(run_view_type="ALL")),
                         sorted(self.active + [self.r5]))
        self.assertEqual(sorted(self.ids(run_view_type=1)),
                         sorted(self.active))
        self.assertEqual(self.ids(run_view_type=2), [self.r5])
        self.assertEqual(len(self.ids(run_view_type=3)), 5)
        self.assertBadParam(self.search_runs([self.eid],
                                             run_view_type="SOME"))
        b = self.ok(self.search_runs([self.eid], run_view_type="DELETED_ONLY"))
        self.assertEqual(b["runs"][0]["info"]["lifecycle_stage"], "deleted")

    def test_many_experiment_ids(self):
        # more than 100 ids are bound as one JSON list (read_tracking.c),
        # read by each engine's own JSON function; unknown ids match none
        many = [str(10 ** 6 + i) for i in range(150)] + [self.eid]
        b = self.ok(self.search_runs(many, run_view_type="ALL"))
        self.assertEqual(sorted(r["info"]["run_id"] for r in b["runs"]),
                         sorted(self.active + [self.r5]))
        b = self.ok(self.search_runs(many, "params.model = 'RNN'"))
        self.assertEqual([r["info"]["run_id"] for r in b["runs"]], [self.r3])

    # -- paging --------------------------------------------------------------
    def page_all(self, max_results, order_by=None, flt=None):
        pages, token = [], None
        for _ in range(20):
            body = {"experiment_ids": [self.eid], "max_results": max_results}
            if token:
                body["page_token"] = token
            if order_by:
                body["order_by"] = order_by
            if flt:
                body["filter"] = flt
            b = self.ok(self.post("runs/search", body))
            pages.append([r["info"]["run_id"] for r in b.get("runs", [])])
            token = b.get("next_page_token")
            if not token:
                return pages
        self.fail("paging did not end")

    def test_paging(self):
        full = self.ids()
        pages = self.page_all(1)
        self.assertEqual(pages, [[x] for x in full])
        pages = self.page_all(2)
        self.assertEqual(pages, [full[:2], full[2:]])
        pages = self.page_all(3, order_by=["metrics.acc DESC"])
        self.assertEqual(pages, [[self.r1, self.r3, self.r2], [self.r4]])
        pages = self.page_all(4)
        self.assertEqual(pages, [full])
        pages = self.page_all(50000)
        self.assertEqual(pages, [full])

    def test_paging_with_start_time_ties(self):
        eid = self.create_experiment()
        rids = [self.create_run(eid, start_time=777)["info"]["run_id"]
                for _ in range(25)]
        seen, token = [], None
        for _ in range(10):
            body = {"experiment_ids": [eid], "max_results": 7}
            if token:
                body["page_token"] = token
            b = self.ok(self.post("runs/search", body))
            seen += [r["info"]["run_id"] for r in b.get("runs", [])]
            token = b.get("next_page_token")
            if not token:
                break
        self.assertEqual(seen, sorted(rids))  # tie-break run_id ASC

    def test_unicode_and_odd_keys(self):
        eid = self.create_experiment()
        rid = self.create_run(eid)["info"]["run_id"]
        self.ok(self.post("runs/log-batch", {"run_id": rid, "params": [
            {"key": "ключ", "value": "значение"},
            {"key": "has space", "value": "v s"},
            {"key": "a:b/c-d.e", "value": "x"}]}))
        for f in ["params.`ключ` = 'значение'", "params.\"has space\" = 'v s'",
                  "params.`a:b/c-d.e` = 'x'", "params.`ключ` LIKE 'зн%'"]:
            with self.subTest(filter=f):
                self.assertEqual(self.search_run_ids([eid], f), [rid])

    def test_default_page_size_1000(self):
        eid = self.create_experiment()
        batch = []
        for i in range(1003):
            batch.append(self.create_run(eid, start_time=i)["info"]["run_id"])
        b = self.ok(self.search_runs([eid]))
        self.assertEqual(len(b["runs"]), 1000)
        self.assertIn("next_page_token", b)
        b2 = self.ok(self.search_runs([eid],
                                      page_token=b["next_page_token"]))
        self.assertEqual([r["info"]["run_id"] for r in b2["runs"]],
                         batch[2::-1])
        self.assertNotIn("next_page_token", b2)

    def test_max_results_limits(self):
        for bad in [0, -1, 50001, 10 ** 12, "abc"]:
            with self.subTest(max_results=bad):
                self.assertBadParam(self.search_runs([self.eid],
                                                     max_results=bad))

    def test_bad_page_tokens(self):
        for tok in ["garbage!!", "%%%", base64.b64encode(b"not json").decode(),
                    base64.b64encode(b'{"offset": -1}').decode(),
                    base64.b64encode(b'{"offset": "x"}').decode(),
                    base64.b64encode(b"[1,2]").decode()]:
            with self.subTest(token=tok):
                self.assertBadParam(self.search_runs([self.eid],
                                                     page_token=tok))
        # a token taken from a real response works
        b = self.ok(self.search_runs([self.eid], max_results=1))
        b2 = self.ok(self.search_runs([self.eid], max_results=1,
                                      page_token=b["next_page_token"]))
        self.assertEqual(len(b2["runs"]), 1)

    def test_get_not_allowed(self):
        r = self.get("runs/search", {"experiment_ids": self.eid})
        self.assertEqual(r.status, 405, repr(r))


class BatchReadTests(ServerTestCase):
    """runs/search reads a page's runs per kind of list, with one statement
    for all of them (read_batch.c; listsrc.c renders a run read whole),
    and writes a run chunk by chunk when its lists are large or the
    batch's cap cut them: every page, whatever its size and wherever it
    starts, holds each run exactly as runs/get answers it, in the same
    order of members and items."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        c = cls.client
        cls.eid = ok(c.post("experiments/create",
                            {"name": uniq("batch")}))["experiment_id"]
        t = [0]

        def run(name):
            t[0] += 1
            return ok(c.post("runs/create", {
                "experiment_id": cls.eid, "run_name": name,
                "start_time": 1000 + t[0]}))["run"]["info"]["run_id"]

        def batch(rid, metrics=(), params=(), tags=()):
            log_batch(c, rid, metrics, params, tags)

        def dataset(name, digest, tags=()):
            d = {"dataset": {"name": name, "digest": digest,
                             "source_type": "local",
                             "source": '{"uri": "/d/%s"}' % name}}
            if tags:
                d["tags"] = [{"key": k, "value": v} for k, v in tags]
            return d

        cls.empty = run("empty")
        cls.params_only = run("params-only")
        batch(cls.params_only, params=[("z", "26"), ("a", "1"), ("m", "13")])
        cls.full = run("full")
        batch(cls.full,
              [("loss", 0.5, 2, 0), ("acc", 0.25, 1, 0), ("acc", 0.75, 3, 1),
               ("nan", "NaN", 1, 0), ("b.c", -1, 1, 4)],
              [("lr", "0.1"), ("batch", "64"), ("a", "x")],
              [("team", "vision"), ("env", "prod"), ("b", "")])
        ok(c.post("runs/log-inputs", {"run_id": cls.full, "datasets": [
            dataset("train", "d1", [("mlflow.data.context", "training"),
                                    ("a", "1"), ("z", "26")]),
            dataset("eval", "d2"),
            dataset("test", "d3", [("k", "v")])],
            "models": [{"model_id": "m-2"}, {"model_id": "m-1"}]}))
        cls.inputs_only = run("inputs-only")
        ok(c.post("runs/log-inputs", {"run_id": cls.inputs_only,
                                      "datasets": [dataset("eval", "d2")]}))
        cls.models_only = run("models-only")
        ok(c.post("runs/log-inputs", {
            "run_id": cls.models_only, "datasets": [],
            "models": [{"model_id": "m-%d" % i} for i in (3, 1, 2)]}))
        # the same keys in several runs
        cls.same = []
        for i in range(5):
            rid = run("same-%d" % i)
            batch(rid, [("acc", i / 10, 1, 0)], [("lr", str(i))],
                  [("team", "t%d" % i)])
            cls.same.append(rid)
        # a run whose lists weigh more than listsrc writes whole (64 KiB)
        cls.big = run("big")
        batch(cls.big, tags=[("big.%02d" % i, chr(65 + i) * 8000)
                             for i in range(12)])
        # runs whose tags together pass the batch's cap (512 KiB): the
        # runs after the cut are written chunk by chunk
        cls.medium = []
        for i in range(12):
            rid = run("medium-%d" % i)
            batch(rid, tags=[("m.%d" % j, chr(97 + j) * 7000)
                             for j in range(7)])
            cls.medium.append(rid)
        # more runs than one batch reads (100)
        cls.small = [run("small-%d" % i) for i in range(110)]
        for i in (0, 55, 109):
            batch(cls.small[i], params=[("i", str(i))])
        cls.all = ([cls.empty, cls.params_only, cls.full, cls.inputs_only,
                    cls.models_only] + cls.same + [cls.big] + cls.medium +
                   cls.small)

    def get_raw(self, rid):
        r = self.get("runs/get", {"run_id": rid})
        self.assertEqual(r.status, 200, r)
        return r.body["run"]

    def pages(self, max_results, order_by=None):
        runs, token = [], None
        while True:
            body = {"experiment_ids": [self.eid], "max_results": max_results}
            if order_by:
                body["order_by"] = order_by
            if token:
                body["page_token"] = token
            b = self.ok(self.post("runs/search", body))
            self.assertLessEqual(len(b.get("runs", [])), max_results)
            runs += b.get("runs", [])
            token = b.get("next_page_token")
            if not token:
                return runs

    def test_pages_equal_runs_get(self):
        expect = {rid: json.dumps(self.get_raw(rid)) for rid in self.all}
        for size in (1, 2, 7, 100, 1000):
            for order in (None, ["attributes.start_time ASC"],
                          ["metrics.acc DESC"]):
                if size == 1 and order:
                    continue  # 150 requests each: the default is enough
                with self.subTest(max_results=size, order_by=order):
                    runs = self.pages(size, order)
                    ids = [r["info"]["run_id"] for r in runs]
                    self.assertEqual(sorted(ids), sorted(self.all))
                    for r in runs:
                        self.assertEqual(json.dumps(r),
                                         expect[r["info"]["run_id"]])
        asc = self.pages(1000, ["attributes.start_time ASC"])
        self.assertEqual([r["info"]["run_id"] for r in asc], self.all)

    def test_lists_in_order(self):
        runs = {r["info"]["run_id"]: r for r in self.pages(1000)}
        r = runs[self.full]
        self.assertEqual([(m["key"], m["value"], m["timestamp"], m["step"])
                          for m in r["data"]["metrics"]],
                         [("acc", 0.75, 3, 1), ("b.c", -1, 1, 4),
                          ("loss", 0.5, 2, 0), ("nan", "NaN", 1, 0)])
        self.assertEqual([(p["key"], p["value"]) for p in r["data"]["params"]],
                         [("a", "x"), ("batch", "64"), ("lr", "0.1")])
        self.assertEqual([t["key"] for t in r["data"]["tags"]],
                         ["b", "env", "mlflow.runName", "team"])
        inputs = r["inputs"]["dataset_inputs"]
        self.assertEqual([i["dataset"]["name"] for i in inputs],
                         ["train", "eval", "test"])
        self.assertEqual([(t["key"], t["value"]) for t in inputs[0]["tags"]],
                         [("a", "1"), ("mlflow.data.context", "training"),
                          ("z", "26")])
        self.assertNotIn("tags", inputs[1])
        self.assertEqual(inputs[2]["tags"], [{"key": "k", "value": "v"}])
        self.assertEqual(r["inputs"]["model_inputs"],
                         [{"model_id": "m-2"}, {"model_id": "m-1"}])
        self.assertEqual(runs[self.models_only]["inputs"]["model_inputs"],
                         [{"model_id": "m-%d" % i} for i in (3, 1, 2)])
        self.assertEqual(
            [i["dataset"]["name"] for i in
             runs[self.inputs_only]["inputs"]["dataset_inputs"]], ["eval"])
        e = runs[self.empty]
        self.assertNotIn("metrics", e["data"])
        self.assertNotIn("params", e["data"])
        self.assertEqual(e["inputs"], {})
        self.assertEqual(
            [(p["key"], p["value"])
             for p in runs[self.params_only]["data"]["params"]],
            [("a", "1"), ("m", "13"), ("z", "26")])
        for i, rid in enumerate(self.same):
            d = runs[rid]["data"]
            self.assertEqual(d["params"], [{"key": "lr", "value": str(i)}])
            self.assertEqual([m["value"] for m in d["metrics"]], [i / 10])
            self.assertEqual(self.tags_of(d)["team"], "t%d" % i)
        self.assertEqual(
            [t["value"][:1] for t in runs[self.big]["data"]["tags"]
             if t["key"].startswith("big.")],
            [chr(65 + i) for i in range(12)])
        for rid in self.medium:
            tags = self.tags_of(runs[rid]["data"])
            self.assertEqual(sorted(k for k in tags if k.startswith("m.")),
                             ["m.%d" % j for j in range(7)])
        for i in (0, 55, 109):
            self.assertEqual(self.params_of(runs[self.small[i]]),
                             {"i": str(i)})

    def test_raw_reply_is_one_json(self):
        # the whole-run and the chunked writers join into valid JSON
        for size in (3, 1000):
            r = self.post("runs/search", {"experiment_ids": [self.eid],
                                          "max_results": size})
            self.assertEqual(r.status, 200)
            self.assertEqual(json.loads(r.raw.decode("utf-8")), r.body)


class ExperimentSearchTests(ServerTestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        c = cls.client
        cls.prefix = "xs%s" % uniq("p").replace("-", "")
        cls.names = [cls.prefix + s for s in ("Apple", "banana", "Cherry",
                                              "date")]
        cls.ids = []
        for i, n in enumerate(cls.names):
            eid = ok(c.post("experiments/create", {
                "name": n, "tags": [{"key": "idx", "value": str(i)},
                                    {"key": "fruit", "value": "yes"}]}))["experiment_id"]
            cls.ids.append(eid)
            time.sleep(0.02)  # distinct creation_time
        ok(c.post("experiments/delete", {"experiment_id": cls.ids[3]}))
        cls.like = "name LIKE '%s%%'" % cls.prefix

    def search(self, method="POST", **kw):
        if method == "POST":
            return self.post("experiments/search", kw)
        return self.get("experiments/search", kw)

    def names_of(self, body):
        return [e["name"][len(self.prefix):] for e in body.get("experiments", [])]

    def test_default_order_creation_desc(self):
        b = self.ok(self.search(filter=self.like))
        self.assertEqual(self.names_of(b), ["Cherry", "banana", "Apple"])
        for e in b["experiments"]:
            self.assertIsInstance(e["creation_time"], int)
            self.assertEqual(self.tags_of(e)["fruit"], "yes")

    def test_get_and_post(self):
        b1 = self.ok(self.search(filter=self.like, max_results=10))
        b2 = self.ok(self.search("GET", filter=self.like, max_results=10))
        self.assertEqual(b1, b2)

    def test_name_filters(self):
        p = self.prefix
        self.assertEqual(self.names_of(self.ok(self.search(
            filter="name = '%sbanana'" % p))), ["banana"])
        self.assertEqual(self.names_of(self.ok(self.search(
            filter="name LIKE '%s%%a%%' AND name != '%sbanana'" % (p, p)))),
            [])
        self.assertEqual(sorted(self.names_of(self.ok(self.search(
            filter="name LIKE '%sc%%'" % p)))), [])
        self.assertEqual(sorted(self.names_of(self.ok(self.search(
            filter="name ILIKE '%sc%%'" % p.upper())))), ["Cherry"])
        self.assertEqual(sorted(self.names_of(self.ok(self.search(
            filter="attribute.name LIKE '%sC%%'" % p)))), ["Cherry"])

    def test_tag_and_time_filters(self):
        self.assertEqual(self.names_of(self.ok(self.search(
            filter=self.like + " AND tags.idx = '1'"))), ["banana"])
        self.assertEqual(self.names_of(self.ok(self.search(
            filter=self.like + " AND tags.idx != '1'"))), ["Cherry", "Apple"])
        self.assertEqual(self.names_of(self.ok(self.search(
            filter=self.like + " AND tag.idx LIKE '%2'"))), ["Cherry"])
        e0 = self.get_experiment(self.ids[0])
        e2 = self.get_experiment(self.ids[2])
        self.assertEqual(self.names_of(self.ok(self.search(
            filter=self.like + " AND creation_time > %d"
            % e0["creation_time"]))), ["Cherry", "banana"])
        self.assertEqual(self.names_of(self.ok(self.search(
            filter=self.like + " AND creation_time <= %d"
            % e0["creation_time"]))), ["Apple"])
        self.assertEqual(self.names_of(self.ok(self.search(
            filter=self.like + " AND last_update_time >= %d"
            % e2["last_update_time"]))), ["Cherry"])

    def test_order_by(self):
        self.assertEqual(self.names_of(self.ok(self.search(
            filter=self.like, order_by=["name"]))),
            ["Apple", "Cherry", "banana"])
        self.assertEqual(self.names_of(self.ok(self.search(
            filter=self.like, order_by=["name DESC"]))),
            ["banana", "Cherry", "Apple"])
        self.assertEqual(self.names_of(self.ok(self.search(
            filter=self.like, order_by=["creation_time ASC"]))),
            ["Apple", "banana", "Cherry"])
        self.assertEqual(self.names_of(self.ok(self.search(
            filter=self.like, order_by=["experiment_id DESC"]))),
            ["Cherry", "banana", "Apple"])
        self.assertEqual(self.names_of(self.ok(self.search(
            "GET", filter=self.like, order_by=["last_update_time"]))),
            ["Apple", "banana", "Cherry"])
        for bad in [["nosuch"], ["name sideways"], ["tags.idx"],
                    ["name", "name DESC"]]:
            with self.subTest(order_by=bad):
                self.assertBadParam(self.search(filter=self.like,
                                                order_by=bad))

    def test_view_type(self):
        f = self.like
        self.assertEqual(self.names_of(self.ok(self.search(
            filter=f, view_type="DELETED_ONLY"))), ["date"])
        self.assertEqual(self.names_of(self.ok(self.search(
            filter=f, view_type="ALL"))), ["date", "Cherry", "banana", "Apple"])
        self.assertEqual(self.names_of(self.ok(self.search(
            "GET", filter=f, view_type="2"))), ["date"])
        self.assertEqual(self.names_of(self.ok(self.search(
            "GET", filter=f, view_type="DELETED_ONLY"))), ["date"])
        self.assertEqual(len(self.ok(self.search(
            filter=f, view_type=3))["experiments"]), 4)
        self.assertBadParam(self.search(filter=f, view_type="NOPE"))
        self.assertBadParam(self.search("GET", filter=f, view_type="NOPE"))

    def test_paging(self):
        got, token, pages = [], None, 0
        while True:
            kw = {"filter": self.like, "max_results": 1}
            if token:
                kw["page_token"] = token
            b = self.ok(self.search("GET", **kw))
            got += self.names_of(b)
            pages += 1
            token = b.get("next_page_token")
            if not token or pages > 10:
                break
        self.assertEqual(got, ["Cherry", "banana", "Apple"])
        self.assertEqual(pages, 3)  # no empty trailing page
        b = self.ok(self.search(filter=self.like, max_results=3))
        self.assertNotIn("next_page_token", b)

    def test_default_experiment_found(self):
        b = self.ok(self.search(filter="name = 'Default'"))
        self.assertEqual([e["experiment_id"] for e in b["experiments"]], ["0"])
        b = self.ok(self.search())
        self.assertGreaterEqual(len(b["experiments"]), 4)

    def test_empty_result(self):
        b = self.ok(self.search(filter="name = 'no-such-%s'" % self.prefix))
        self.assertEqual(b, {})

    def test_invalid(self):
        for kw in [{"filter": "name > 'x'"}, {"filter": "foo = 'x'"},
                   {"filter": "creation_time = 'x'"},
                   {"filter": "name = 'a' OR name = 'b'"},
                   {"max_results": 50001}, {"max_results": -5},
                   {"page_token": "garbage!!"}]:
            with self.subTest(kw=kw):
                self.assertBadParam(self.search(**kw))
        self.ok(self.search(max_results=50000))
