"""--auth (issue 15, specs/mlflow-auth.md) through raw HTTP and the npm
mlflow client: 401 with WWW-Authenticate, the admin bootstrap (and the
refusal to start without it), MLflow's users and permissions API endpoint
by endpoint, the validator map for a second user (READ by default, 403
until granted EDIT, MANAGE on its own experiments, no user management),
search hiding, tokens (Bearer, ceilings, scopes, revocation), browser
sessions (login cookie, whoami, logout), a password change ending
sessions and tokens, deleted users, the failed-login throttle (delays,
429 with Retry-After, valid logins never delayed), the audit lines, and
/health staying open."""
import base64
import json
import os
import re
import subprocess
import time

import pgtest
from harness import (ON_POSTGRES, Client, Server, ServerTestCase, now_ms,
                     uniq)

API = "/api/2.0/mlflow/"
AJAX = "/ajax-api/2.0/mlflow/"
GT = "/api/2.0/greentrack/"
ADMIN, ADMIN_PW = "root", "root-pw-1"
HERE = os.path.dirname(os.path.abspath(__file__))


def basic(user, pw):
    tok = base64.b64encode(("%s:%s" % (user, pw)).encode()).decode()
    return {"Authorization": "Basic " + tok}


def bearer(secret):
    return {"Authorization": "Bearer " + secret}


class AuthCase(ServerTestCase):
    server_args = ["--auth"]
    server_env = {"GREENTRACK_ADMIN_USERNAME": ADMIN,
                  "GREENTRACK_ADMIN_PASSWORD": ADMIN_PW}

    # HTTP as someone ----------------------------------------------------
    def call(self, method, path, obj=None, headers=None, query=None):
        hdrs = dict(headers or {})
        url = path if path.startswith("/") else API + path
        if query:
            from urllib.parse import urlencode
            url += "?" + urlencode(query)
        body = None
        if obj is not None:
            body = json.dumps(obj).encode()
            hdrs["Content-Type"] = "application/json"
        return self.client.request(method, url, body, hdrs)

    def as_admin(self, method, path, obj=None, query=None):
        return self.call(method, path, obj, basic(ADMIN, ADMIN_PW), query)

    def make_user(self, name=None, pw="pw-" + uniq("p")):
        name = name or uniq("user")
        b = self.ok(self.as_admin("POST", "users/create",
                                  {"username": name, "password": pw}))
        return name, pw, b

    def new_experiment(self, who):
        b = self.ok(self.call("POST", "experiments/create",
                              {"name": uniq("exp")}, who))
        return b["experiment_id"]

    def new_run(self, who, exp):
        return self.call("POST", "runs/create",
                         {"experiment_id": exp, "start_time": now_ms()}, who)


class TestAuthBasics(AuthCase):
    def test_401_without_credentials_with_www_authenticate(self):
        r = self.call("GET", "experiments/search", query={"max_results": 5})
        self.assertError(r, 401, "UNAUTHENTICATED")
        self.assertEqual(r.headers.get("www-authenticate"),
                         'Basic realm="greentrack"')

    def test_ui_requests_get_no_basic_dialog(self):
        r = self.call("GET", "experiments/search", headers={
            "X-Greentrack-UI": "1"})
        self.assertError(r, 401, "UNAUTHENTICATED")
        self.assertNotIn("www-authenticate", r.headers)

    def test_401_for_wrong_password_and_unknown_user(self):
        r = self.call("GET", "experiments/search", headers=basic(ADMIN, "x"))
        self.assertError(r, 401, "UNAUTHENTICATED")
        self.assertIn("www-authenticate", r.headers)
        r = self.call("GET", "experiments/search",
                      headers=basic("nobody-" + uniq(), "x"))
        self.assertError(r, 401, "UNAUTHENTICATED")

    def test_malformed_authorization_is_401(self):
        for h in ("Basic !!!", "Basic " + base64.b64encode(b"nocolon").decode(),
                  "Digest abc", "Bearer ", "Bearer gtk_nope"):
            r = self.call("GET", "experiments/search",
                          headers={"Authorization": h})
            self.assertError(r, 401, "UNAUTHENTICATED")

    def test_health_and_version_stay_open(self):
        r = self.call("GET", "/health")
        self.assertEqual(r.status, 200)
        r = self.call("GET", "/version")
        self.assertEqual(r.status, 200)

    def test_unknown_api_path_needs_credentials(self):
        self.assertEqual(self.call("GET", "no-such-thing").status, 401)
        self.assertEqual(self.as_admin("GET", "no-such-thing").status, 404)

    def test_admin_logs_runs_with_basic(self):
        exp = self.new_experiment(basic(ADMIN, ADMIN_PW))
        run = self.ok(self.new_run(basic(ADMIN, ADMIN_PW), exp))["run"]
        rid = run["info"]["run_id"]
        self.ok(self.as_admin("POST", "runs/log-metric", {
            "run_id": rid, "key": "loss", "value": 0.5,
            "timestamp": now_ms(), "step": 1}))
        got = self.ok(self.as_admin("GET", "runs/get", query={"run_id": rid}))
        self.assertEqual(got["run"]["data"]["metrics"][0]["key"], "loss")

    def test_whoami(self):
        b = self.ok(self.as_admin("GET", GT + "auth/whoami"))
        self.assertEqual(b, {"auth_enabled": True,
                             "user": {"username": ADMIN, "is_admin": True},
                             "auth_method": "basic"})
        b = self.ok(self.call("GET", GT + "auth/whoami"))
        self.assertEqual(b["user"], None)
        self.assertEqual(b["auth_method"], "none")
        self.assertTrue(b["auth_enabled"])

    def test_audit_lines_name_user_route_and_status_but_no_secret(self):
        exp = self.new_experiment(basic(ADMIN, ADMIN_PW))
        self.as_admin("POST", "experiments/update",
                      {"experiment_id": exp, "new_name": uniq("renamed")})
        self.call("POST", "experiments/delete", {"experiment_id": exp})
        time.sleep(0.2)
        log = self.server.stderr_text()
        self.assertRegex(log, r"audit user=%s method=POST "
                         r"path=/api/2.0/mlflow/experiments/update "
                         r"status=200 experiment_id=%s" % (ADMIN, exp))
        self.assertRegex(log, r"audit user=- method=POST "
                         r"path=/api/2.0/mlflow/experiments/delete status=401")
        self.assertNotIn(ADMIN_PW, log)
        self.assertNotIn(base64.b64encode(
            ("%s:%s" % (ADMIN, ADMIN_PW)).encode()).decode(), log)


class TestUsersApi(AuthCase):
    """MLflow's users API, endpoint by endpoint (spec section 6)."""

    def test_create_get_entity_shape(self):
        name, pw, b = self.make_user()
        u = b["user"]
        self.assertIsInstance(u["id"], int)
        self.assertEqual(u["username"], name)
        self.assertIs(u["is_admin"], False)
        self.assertEqual(u["experiment_permissions"], [])
        self.assertEqual(u["registered_model_permissions"], [])
        self.assertNotIn("password", json.dumps(b))
        got = self.ok(self.as_admin("GET", "users/get",
                                    query={"username": name}))
        self.assertEqual(got["user"], u)

    def test_create_errors(self):
        name, pw, _ = self.make_user()
        r = self.as_admin("POST", "users/create",
                          {"username": name, "password": "x"})
        self.assertError(r, 400, "RESOURCE_ALREADY_EXISTS")
        r = self.as_admin("POST", "users/create",
                          {"username": "", "password": "x"})
        self.assertBadParam(r, "Username cannot be empty.")
        r = self.as_admin("POST", "users/create", {"username": uniq("u")})
        self.assertBadParam(r, "password")

    def test_empty_password_is_accepted(self):
        name = uniq("emptypw")
        self.ok(self.as_admin("POST", "users/create",
                              {"username": name, "password": ""}))
        self.ok(self.call("GET", "experiments/search",
                          headers=basic(name, "")))

    def test_get_unknown_is_404(self):
        r = self.as_admin("GET", "users/get", query={"username": "ghost"})
        self.assertNotFound(r, "User with username=ghost not found")

    def test_update_admin_and_password(self):
        name, pw, _ = self.make_user()
        self.ok(self.as_admin("PATCH", "users/update-admin",
                              {"username": name, "is_admin": True}))
        u = self.ok(self.as_admin("GET", "users/get",
                                  query={"username": name}))["user"]
        self.assertIs(u["is_admin"], True)
        self.ok(self.as_admin("PATCH", "users/update-password",
                              {"username": name, "password": "new-pw"}))
        self.assertEqual(self.call("GET", "experiments/search",
                                   headers=basic(name, pw)).status, 401)
        self.ok(self.call("GET", "experiments/search",
                          headers=basic(name, "new-pw")))
        for path, body in (("users/update-admin",
                            {"username": "ghost", "is_admin": True}),
                           ("users/update-password",
                            {"username": "ghost", "password": "x"}),
                           ("users/delete", {"username": "ghost"})):
            method = "DELETE" if path.endswith("delete") else "PATCH"
            self.assertNotFound(self.as_admin(method, path, body))

    def test_delete_cascades_grants_and_refuses_the_user(self):
        name, pw, _ = self.make_user()
        exp = self.new_experiment(basic(ADMIN, ADMIN_PW))
        self.ok(self.as_admin("POST", "experiments/permissions/create", {
            "experiment_id": exp, "username": name, "permission": "EDIT"}))
        self.ok(self.call("GET", "experiments/search",
                          headers=basic(name, pw)))
        self.ok(self.as_admin("DELETE", "users/delete", {"username": name}))
        r = self.call("GET", "experiments/search", headers=basic(name, pw))
        self.assertError(r, 401, "UNAUTHENTICATED")
        self.assertNotFound(self.as_admin("GET", "users/get",
                                          query={"username": name}))

    def test_auth_api_is_not_under_ajax(self):
        r = self.as_admin("GET", AJAX + "users/get",
                          query={"username": ADMIN})
        self.assertEqual(r.status, 404)

    def test_signup_page_and_form(self):
        r = self.as_admin("GET", "/signup")
        self.assertEqual(r.status, 200)
        self.assertIn("text/html", r.headers["content-type"])
        self.assertIn('action="/api/2.0/mlflow/users/create"', r.body)
        self.assertIn("application/x-www-form-urlencoded", r.body)
        self.assertEqual(self.call("GET", "/signup").status, 401)
        name, pw, _ = self.make_user()
        r = self.call("GET", "/signup", headers=basic(name, pw))
        self.assertError(r, 403, "PERMISSION_DENIED")
        new = "<b>" + uniq("form")
        form = ("username=%s&password=p+w" %
                __import__("urllib.parse").parse.quote(new)).encode()
        hdrs = dict(basic(ADMIN, ADMIN_PW), **{
            "Content-Type": "application/x-www-form-urlencoded"})
        r = self.client.request("POST", API + "users/create", form, hdrs)
        self.assertEqual(r.status, 200, r)
        self.assertIn("text/html", r.headers["content-type"])
        self.assertIn("Successfully signed up user: &lt;b&gt;", r.body)
        self.assertNotIn("<b>", r.body)
        u = self.ok(self.as_admin("GET", "users/get",
                                  query={"username": new}))["user"]
        self.assertIs(u["is_admin"], False)
        self.ok(self.call("GET", "experiments/search",
                          headers=basic(new, "p w")))
        r = self.client.request("POST", API + "users/create", form, hdrs)
        self.assertEqual(r.status, 200)
        self.assertIn("Username has already been taken: &lt;b&gt;", r.body)
        # a form body elsewhere is still refused
        r = self.client.request("POST", API + "experiments/create",
                                b"name=x", hdrs)
        self.assertBadParam(r, "Content-Type")

    def test_greentrack_users_list(self):
        name, _, _ = self.make_user()
        b = self.ok(self.as_admin("GET", GT + "users/list"))
        names = {u["username"]: u["is_admin"] for u in b["users"]}
        self.assertIs(names[ADMIN], True)
        self.assertIs(names[name], False)


class TestPermissions(AuthCase):
    """A second user under the validator map (spec section 5)."""

    def setUp(self):
        self.user, self.pw, _ = self.make_user()
        self.me = basic(self.user, self.pw)
        self.exp = self.new_experiment(basic(ADMIN, ADMIN_PW))
        self.run_id = self.ok(self.new_run(basic(ADMIN, ADMIN_PW),
                                           self.exp))["run"]["info"]["run_id"]

    def test_read_by_default_then_403_until_edit_granted(self):
        self.ok(self.call("GET", "experiments/get",
                          headers=self.me, query={"experiment_id": self.exp}))
        self.ok(self.call("GET", "runs/get", headers=self.me,
                          query={"run_id": self.run_id}))
        r = self.new_run(self.me, self.exp)
        self.assertError(r, 403, "PERMISSION_DENIED")
        r = self.call("POST", "runs/log-metric", {
            "run_id": self.run_id, "key": "m", "value": 1,
            "timestamp": now_ms()}, self.me)
        self.assertError(r, 403, "PERMISSION_DENIED")
        self.ok(self.as_admin("POST", "experiments/permissions/create", {
            "experiment_id": self.exp, "username": self.user,
            "permission": "EDIT"}))
        self.ok(self.new_run(self.me, self.exp))
        self.ok(self.call("POST", "runs/log-metric", {
            "run_id": self.run_id, "key": "m", "value": 1,
            "timestamp": now_ms()}, self.me))
        # EDIT is not MANAGE: no delete, no grants
        r = self.call("POST", "runs/delete", {"run_id": self.run_id}, self.me)
        self.assertError(r, 403, "PERMISSION_DENIED")
        r = self.call("POST", "experiments/delete",
                      {"experiment_id": self.exp}, self.me)
        self.assertError(r, 403, "PERMISSION_DENIED")

    def test_greentrack_endpoints_follow_the_experiment(self):
        r = self.call("POST", GT + "runs/log-energy", {
            "run_id": self.run_id, "samples": []}, self.me)
        self.assertError(r, 403, "PERMISSION_DENIED")
        r = self.call("GET", GT + "leaderboard", headers=self.me,
                      query={"experiment_id": self.exp, "metric": "m"})
        self.assertNotEqual(r.status, 403)
        r = self.call("POST", GT + "grid/refresh", {"zone": "FR"}, self.me)
        self.assertError(r, 403, "PERMISSION_DENIED")
        r = self.client.request(
            "POST", GT + "import/codecarbon?experiment_id=" + self.exp,
            b"timestamp\n", dict(self.me, **{"Content-Type": "text/csv"}))
        self.assertError(r, 403, "PERMISSION_DENIED")

    def test_creator_gets_manage_on_own_experiment(self):
        mine = self.new_experiment(self.me)
        run = self.ok(self.new_run(self.me, mine))["run"]["info"]["run_id"]
        self.ok(self.call("POST", "runs/delete", {"run_id": run}, self.me))
        other, _, _ = self.make_user()
        self.ok(self.call("POST", "experiments/permissions/create", {
            "experiment_id": mine, "username": other,
            "permission": "READ"}, self.me))
        lst = self.ok(self.call("GET", GT + "experiments/permissions/list",
                                headers=self.me,
                                query={"experiment_id": mine}))
        got = {p["username"]: p["permission"] for p in lst["permissions"]}
        self.assertEqual(got, {self.user: "MANAGE", other: "READ"})
        self.ok(self.call("POST", "experiments/delete",
                          {"experiment_id": mine}, self.me))
        u = self.ok(self.call("GET", "users/get", headers=self.me,
                              query={"username": self.user}))["user"]
        self.assertIn({"experiment_id": mine, "user_id": u["id"],
                       "permission": "MANAGE"}, u["experiment_permissions"])

    def test_no_user_management_for_non_admins(self):
        r = self.call("POST", "users/create",
                      {"username": uniq("x"), "password": "p"}, self.me)
        self.assertError(r, 403, "PERMISSION_DENIED")
        r = self.call("PATCH", "users/update-admin",
                      {"username": self.user, "is_admin": True}, self.me)
        self.assertError(r, 403, "PERMISSION_DENIED")
        r = self.call("DELETE", "users/delete", {"username": ADMIN}, self.me)
        self.assertError(r, 403, "PERMISSION_DENIED")
        r = self.call("GET", "users/get", headers=self.me,
                      query={"username": ADMIN})
        self.assertError(r, 403, "PERMISSION_DENIED")
        r = self.call("PATCH", "users/update-password",
                      {"username": ADMIN, "password": "hijack"}, self.me)
        self.assertError(r, 403, "PERMISSION_DENIED")
        r = self.call("GET", GT + "users/list", headers=self.me)
        self.assertError(r, 403, "PERMISSION_DENIED")
        r = self.call("POST", "experiments/permissions/create", {
            "experiment_id": self.exp, "username": self.user,
            "permission": "MANAGE"}, self.me)
        self.assertError(r, 403, "PERMISSION_DENIED")

    def test_own_password_update_works(self):
        self.ok(self.call("GET", "users/get", headers=self.me,
                          query={"username": self.user}))
        self.ok(self.call("PATCH", "users/update-password",
                          {"username": self.user, "password": "pw2"},
                          self.me))
        r = self.call("GET", "experiments/search", headers=self.me)
        self.assertError(r, 401, "UNAUTHENTICATED")
        self.ok(self.call("GET", "experiments/search",
                          headers=basic(self.user, "pw2")))

    def test_no_permissions_row_hides_from_search(self):
        self.ok(self.as_admin("POST", "experiments/permissions/create", {
            "experiment_id": self.exp, "username": self.user,
            "permission": "NO_PERMISSIONS"}))
        r = self.call("GET", "experiments/get", headers=self.me,
                      query={"experiment_id": self.exp})
        self.assertError(r, 403, "PERMISSION_DENIED")
        ids = [e["experiment_id"] for e in self.ok(self.call(
            "POST", "experiments/search", {"max_results": 1000},
            self.me)).get("experiments", [])]
        self.assertNotIn(self.exp, ids)
        self.assertIn("0", ids)
        runs = self.ok(self.call("POST", "runs/search", {
            "experiment_ids": [self.exp, "0"]}, self.me)).get("runs", [])
        self.assertNotIn(self.run_id, [r["info"]["run_id"] for r in runs])
        # the admin still sees both
        ids = [e["experiment_id"] for e in self.ok(self.as_admin(
            "POST", "experiments/search",
            {"max_results": 1000}))["experiments"]]
        self.assertIn(self.exp, ids)
        # unknown run ids answer 404 before any permission
        r = self.call("GET", "runs/get", headers=self.me,
                      query={"run_id": "f" * 32})
        self.assertNotFound(r)

    def test_get_by_name(self):
        name = self.ok(self.as_admin("GET", "experiments/get", query={
            "experiment_id": self.exp}))["experiment"]["name"]
        self.ok(self.call("GET", "experiments/get-by-name", headers=self.me,
                          query={"experiment_name": name}))
        r = self.call("GET", "experiments/get-by-name", headers=self.me,
                      query={"experiment_name": "nope-" + uniq()})
        self.assertNotFound(r)

    def test_experiment_permission_api(self):
        base = {"experiment_id": self.exp, "username": self.user}
        r = self.as_admin("GET", "experiments/permissions/get", query=base)
        self.assertNotFound(r)
        b = self.ok(self.as_admin("POST", "experiments/permissions/create",
                                  dict(base, permission="READ")))
        uid = self.ok(self.as_admin("GET", "users/get", query={
            "username": self.user}))["user"]["id"]
        self.assertEqual(b, {"experiment_permission": {
            "experiment_id": self.exp, "user_id": uid, "permission": "READ"}})
        r = self.as_admin("POST", "experiments/permissions/create",
                          dict(base, permission="READ"))
        self.assertError(r, 400, "RESOURCE_ALREADY_EXISTS")
        r = self.as_admin("POST", "experiments/permissions/create",
                          dict(base, permission="read"))
        self.assertBadParam(r, "Invalid permission 'read'. Valid permissions "
                            "are: ('READ', 'EDIT', 'MANAGE', "
                            "'NO_PERMISSIONS')")
        r = self.as_admin("POST", "experiments/permissions/create", {
            "experiment_id": self.exp, "username": "ghost",
            "permission": "READ"})
        self.assertNotFound(r)
        self.ok(self.as_admin("PATCH", "experiments/permissions/update",
                              dict(base, permission="MANAGE")))
        b = self.ok(self.as_admin("GET", "experiments/permissions/get",
                                  query=base))
        self.assertEqual(b["experiment_permission"]["permission"], "MANAGE")
        self.ok(self.as_admin("DELETE", "experiments/permissions/delete",
                              base))
        self.assertNotFound(self.as_admin(
            "DELETE", "experiments/permissions/delete", base))
        self.assertNotFound(self.as_admin(
            "PATCH", "experiments/permissions/update",
            dict(base, permission="EDIT")))
        r = self.as_admin("POST", "experiments/permissions/create",
                          {"username": self.user, "permission": "READ"})
        self.assertBadParam(r, "experiment_id")

    def test_registered_model_permissions(self):
        model = uniq("model")
        self.ok(self.as_admin("POST", "registered-models/create",
                              {"name": model}))
        self.ok(self.call("GET", "registered-models/get", headers=self.me,
                          query={"name": model}))
        r = self.call("PATCH", "registered-models/update",
                      {"name": model, "description": "x"}, self.me)
        self.assertError(r, 403, "PERMISSION_DENIED")
        b = self.ok(self.as_admin(
            "POST", "registered-models/permissions/create",
            {"name": model, "username": self.user, "permission": "EDIT"}))
        self.assertEqual(b["registered_model_permission"]["name"], model)
        self.assertEqual(b["registered_model_permission"]["permission"],
                         "EDIT")
        self.ok(self.call("PATCH", "registered-models/update",
                          {"name": model, "description": "x"}, self.me))
        r = self.call("DELETE", "registered-models/delete", {"name": model},
                      self.me)
        self.assertError(r, 403, "PERMISSION_DENIED")
        self.ok(self.as_admin("PATCH", "registered-models/permissions/update",
                              {"name": model, "username": self.user,
                               "permission": "READ"}))
        b = self.ok(self.as_admin("GET", "registered-models/permissions/get",
                                  query={"name": model,
                                         "username": self.user}))
        self.assertEqual(b["registered_model_permission"]["permission"],
                         "READ")
        self.ok(self.as_admin("DELETE",
                              "registered-models/permissions/delete",
                              {"name": model, "username": self.user}))
        # grants follow a rename and go with a delete (unlike MLflow 2.9.2)
        self.ok(self.as_admin("POST", "registered-models/permissions/create",
                              {"name": model, "username": self.user,
                               "permission": "EDIT"}))
        renamed = uniq("renamed")
        self.ok(self.as_admin("POST", "registered-models/rename",
                              {"name": model, "new_name": renamed}))
        b = self.ok(self.as_admin("GET", "registered-models/permissions/get",
                                  query={"name": renamed,
                                         "username": self.user}))
        self.assertEqual(b["registered_model_permission"]["permission"],
                         "EDIT")
        self.assertNotFound(self.as_admin(
            "GET", "registered-models/permissions/get",
            query={"name": model, "username": self.user}))
        self.ok(self.as_admin("DELETE", "registered-models/delete",
                              {"name": renamed}))
        self.assertNotFound(self.as_admin(
            "GET", "registered-models/permissions/get",
            query={"name": renamed, "username": self.user}))
        model = renamed
        # the creator of a model gets MANAGE on it
        mine = uniq("mymodel")
        self.ok(self.call("POST", "registered-models/create",
                          {"name": mine}, self.me))
        self.ok(self.call("DELETE", "registered-models/delete",
                          {"name": mine}, self.me))


    def test_rename_onto_a_name_with_grants(self):
        """Grants are keyed by name (a grant may name a model that does not
        exist): a rename onto such a name keeps the moved model's grant
        where a user has both, and the other users' grants on the new name
        stay."""
        model, target = uniq("model"), uniq("target")
        other, _, _ = self.make_user()
        self.ok(self.as_admin("POST", "registered-models/create",
                              {"name": model}))
        for name, user, perm in ((model, self.user, "EDIT"),
                                 (target, self.user, "READ"),
                                 (target, other, "MANAGE")):
            self.ok(self.as_admin(
                "POST", "registered-models/permissions/create",
                {"name": name, "username": user, "permission": perm}))
        self.ok(self.as_admin("POST", "registered-models/rename",
                              {"name": model, "new_name": target}))
        for user, perm in ((self.user, "EDIT"), (other, "MANAGE")):
            b = self.ok(self.as_admin(
                "GET", "registered-models/permissions/get",
                query={"name": target, "username": user}))
            self.assertEqual(b["registered_model_permission"]["permission"],
                             perm)
        self.assertNotFound(self.as_admin(
            "GET", "registered-models/permissions/get",
            query={"name": model, "username": self.user}))
        self.ok(self.as_admin("DELETE", "registered-models/delete",
                              {"name": target}))
    def test_artifact_proxy_follows_the_path_experiment(self):
        path = API.replace("mlflow/", "mlflow-artifacts/artifacts/")
        r = self.client.request("PUT", path + "%s/x/a.txt" % self.exp, b"hi",
                                dict(self.me, **{
                                    "Content-Type": "text/plain"}))
        self.assertError(r, 403, "PERMISSION_DENIED")
        r = self.client.request("PUT", path + "%s/x/a.txt" % self.exp, b"hi",
                                dict(basic(ADMIN, ADMIN_PW), **{
                                    "Content-Type": "text/plain"}))
        self.assertEqual(r.status, 200, r)
        r = self.call("GET", path + "%s/x/a.txt" % self.exp, headers=self.me)
        self.assertEqual(r.raw, b"hi")
        r = self.call("DELETE", path + "%s/x/a.txt" % self.exp,
                      headers=self.me)
        self.assertError(r, 403, "PERMISSION_DENIED")


class TestTokens(AuthCase):
    def setUp(self):
        self.user, self.pw, _ = self.make_user()
        self.me = basic(self.user, self.pw)
        self.exp = self.new_experiment(basic(ADMIN, ADMIN_PW))
        self.ok(self.as_admin("POST", "experiments/permissions/create", {
            "experiment_id": self.exp, "username": self.user,
            "permission": "MANAGE"}))

    def create(self, who=None, **kw):
        body = {"name": uniq("tok")}
        body.update(kw)
        return self.ok(self.call("POST", GT + "tokens/create", body,
                                 who or self.me))

    def test_bearer_works_and_revoked_does_not(self):
        b = self.create(expires_in_days=7)
        secret = b["secret"]
        self.assertRegex(secret, r"^gtk_[0-9a-f]{64}$")
        t = b["token"]
        self.assertEqual(t["permission_ceiling"], None)
        self.assertEqual(t["experiment_id"], None)
        self.assertGreater(t["expires"], t["created"])
        w = self.ok(self.call("GET", GT + "auth/whoami",
                              headers=bearer(secret)))
        self.assertEqual(w["auth_method"], "token")
        self.assertEqual(w["user"]["username"], self.user)
        self.ok(self.new_run(bearer(secret), self.exp))
        lst = self.ok(self.call("GET", GT + "tokens/list",
                                headers=self.me))["tokens"]
        self.assertIn(t["id"], [x["id"] for x in lst])
        self.assertNotIn(secret, json.dumps(lst))
        self.assertNotIn("secret", json.dumps(lst))
        self.ok(self.call("POST", GT + "tokens/revoke", {"id": t["id"]},
                          self.me))
        r = self.call("GET", "experiments/search", headers=bearer(secret))
        self.assertError(r, 401, "UNAUTHENTICATED")
        lst = self.ok(self.call("GET", GT + "tokens/list",
                                headers=self.me))["tokens"]
        self.assertIs([x for x in lst if x["id"] == t["id"]][0]["revoked"],
                      True)

    def test_read_ceiling_refuses_writes(self):
        secret = self.create(permission_ceiling="READ")["secret"]
        self.ok(self.call("GET", "experiments/get", headers=bearer(secret),
                          query={"experiment_id": self.exp}))
        r = self.new_run(bearer(secret), self.exp)
        self.assertError(r, 403, "PERMISSION_DENIED")
        r = self.call("POST", "experiments/create", {"name": uniq("e")},
                      bearer(secret))
        self.assertError(r, 403, "PERMISSION_DENIED")

    def test_experiment_scoped_edit_token(self):
        other = self.new_experiment(basic(ADMIN, ADMIN_PW))
        self.ok(self.as_admin("POST", "experiments/permissions/create", {
            "experiment_id": other, "username": self.user,
            "permission": "MANAGE"}))
        b = self.create(permission_ceiling="EDIT", experiment_id=self.exp)
        self.assertEqual(b["token"]["experiment_id"], self.exp)
        self.assertEqual(b["token"]["permission_ceiling"], "EDIT")
        tok = bearer(b["secret"])
        run = self.ok(self.new_run(tok, self.exp))["run"]["info"]["run_id"]
        r = self.call("POST", "runs/delete", {"run_id": run}, tok)
        self.assertError(r, 403, "PERMISSION_DENIED")
        r = self.new_run(tok, other)
        self.assertError(r, 403, "PERMISSION_DENIED")
        r = self.call("POST", "experiments/create", {"name": uniq("e")}, tok)
        self.assertError(r, 403, "PERMISSION_DENIED")
        # a capped token cannot mint a stronger one
        r = self.call("POST", GT + "tokens/create", {"name": "x"}, tok)
        self.assertError(r, 403, "PERMISSION_DENIED")

    def test_admin_token_with_ceiling_loses_admin_power(self):
        secret = self.create(basic(ADMIN, ADMIN_PW),
                             permission_ceiling="MANAGE")["secret"]
        r = self.call("GET", GT + "users/list", headers=bearer(secret))
        self.assertError(r, 403, "PERMISSION_DENIED")
        full = self.create(basic(ADMIN, ADMIN_PW))["secret"]
        self.ok(self.call("GET", GT + "users/list", headers=bearer(full)))

    def test_bad_token_requests(self):
        for body, msg in (({}, "name"),
                          ({"name": "a", "permission_ceiling": "ADMIN"},
                           "permission_ceiling"),
                          ({"name": "a", "permission_ceiling":
                            "NO_PERMISSIONS"}, "permission_ceiling"),
                          ({"name": "a", "expires_in_days": 0},
                           "expires_in_days"),
                          ({"name": "a", "experiment_id": "x1"},
                           "experiment_id")):
            r = self.call("POST", GT + "tokens/create", body, self.me)
            self.assertBadParam(r, msg)
        r = self.call("POST", GT + "tokens/revoke", {"id": 999999}, self.me)
        self.assertNotFound(r)
        # someone else's token cannot be revoked by a non-admin
        theirs = self.create(basic(ADMIN, ADMIN_PW))["token"]["id"]
        self.assertNotFound(self.call("POST", GT + "tokens/revoke",
                                      {"id": theirs}, self.me))
        r = self.call("GET", GT + "tokens/list", headers=self.me,
                      query={"username": ADMIN})
        self.assertError(r, 403, "PERMISSION_DENIED")
        lst = self.ok(self.as_admin("GET", GT + "tokens/list",
                                    query={"username": self.user}))
        self.assertIsInstance(lst["tokens"], list)

    def test_password_change_ends_sessions_and_tokens(self):
        secret = self.create()["secret"]
        r = self.call("POST", GT + "auth/login",
                      {"username": self.user, "password": self.pw})
        cookie = r.headers["set-cookie"].split(";")[0]
        self.ok(self.call("GET", "experiments/search",
                          headers={"Cookie": cookie}))
        self.ok(self.as_admin("PATCH", "users/update-password",
                              {"username": self.user, "password": "next"}))
        self.assertEqual(self.call("GET", "experiments/search",
                                   headers={"Cookie": cookie}).status, 401)
        self.assertEqual(self.call("GET", "experiments/search",
                                   headers=bearer(secret)).status, 401)

    def test_expired_token_and_session_are_refused(self):
        """Expiry is read at each request: moved into the past in the
        database (no test waits days), both stop at once. The database
        is changed by sqlite3 or, on PostgreSQL, psql."""
        import sqlite3
        b = self.create(expires_in_days=1)
        r = self.call("POST", GT + "auth/login",
                      {"username": self.user, "password": self.pw})
        cookie = r.headers["set-cookie"].split(";")[0]
        self.ok(self.call("GET", "experiments/search",
                          headers=bearer(b["secret"])))
        self.ok(self.call("GET", "experiments/search",
                          headers={"Cookie": cookie}))
        if ON_POSTGRES:
            pgtest.psql(self.server.db,
                        "UPDATE tokens SET expires = 1 WHERE id = %d; "
                        "UPDATE sessions SET expires = 1"
                        % int(b["token"]["id"]))
        else:
            db = sqlite3.connect(self.server.db, timeout=10)
            with db:
                db.execute("UPDATE tokens SET expires = 1 WHERE id = ?",
                           (b["token"]["id"],))
                db.execute("UPDATE sessions SET expires = 1")
            db.close()
        self.assertEqual(self.call("GET", "experiments/search",
                                   headers=bearer(b["secret"])).status, 401)
        self.assertEqual(self.call("GET", "experiments/search",
                                   headers={"Cookie": cookie}).status, 401)

    def test_secrets_are_stored_hashed(self):
        """Checked in the database itself: sqlite3 on SQLite, psql on
        PostgreSQL (harness Server.db is then the database's URL)."""
        import sqlite3
        secret = self.create()["secret"]
        if ON_POSTGRES:
            def column(sql):
                return [(line,) for line in
                        pgtest.psql(self.server.db, sql).splitlines()]
            rows = column("SELECT secret_hash FROM tokens")
            hashes = column("SELECT password_hash FROM users")
        else:
            db = sqlite3.connect(self.server.db, timeout=10)
            rows = db.execute("SELECT secret_hash FROM tokens").fetchall()
            hashes = db.execute("SELECT password_hash FROM users").fetchall()
            db.close()
        self.assertTrue(rows and hashes)
        self.assertNotIn(secret, json.dumps(rows))
        self.assertNotIn(secret[4:], json.dumps(rows))
        self.assertTrue(all(h[0].startswith("$argon2id$") for h in hashes))

    def test_deleted_user_tokens_stop(self):
        name, pw, _ = self.make_user()
        secret = self.create(basic(name, pw))["secret"]
        self.ok(self.call("GET", "experiments/search",
                          headers=bearer(secret)))
        self.ok(self.as_admin("DELETE", "users/delete", {"username": name}))
        self.assertEqual(self.call("GET", "experiments/search",
                                   headers=bearer(secret)).status, 401)


class TestSessions(AuthCase):
    def test_login_cookie_whoami_logout(self):
        name, pw, _ = self.make_user()
        r = self.call("POST", GT + "auth/login",
                      {"username": name, "password": pw})
        b = self.ok(r)
        self.assertEqual(b, {"user": {"username": name, "is_admin": False}})
        sc = r.headers["set-cookie"]
        self.assertRegex(sc, r"^gt_session=[0-9a-f]{64}; ")
        for attr in ("HttpOnly", "SameSite=Strict", "Path=/", "Max-Age="):
            self.assertIn(attr, sc)
        self.assertNotIn("Secure", sc)  # plain HTTP here
        cookie = sc.split(";")[0]
        w = self.ok(self.call("GET", GT + "auth/whoami",
                              headers={"Cookie": "a=b; " + cookie}))
        self.assertEqual(w["auth_method"], "session")
        self.assertEqual(w["user"]["username"], name)
        r = self.call("POST", GT + "auth/logout", {},
                      {"Cookie": cookie})
        self.ok(r)
        self.assertIn("Max-Age=0", r.headers["set-cookie"])
        r = self.call("GET", "experiments/search", headers={"Cookie": cookie,
                                                             "X-Greentrack-UI":
                                                             "1"})
        self.assertError(r, 401, "UNAUTHENTICATED")
        self.assertNotIn("www-authenticate", r.headers)

    def test_login_wrong_password(self):
        r = self.call("POST", GT + "auth/login",
                      {"username": ADMIN, "password": "nope"},
                      {"X-Greentrack-UI": "1"})
        self.assertError(r, 401, "UNAUTHENTICATED")
        self.assertNotIn("set-cookie", r.headers)
        r = self.call("POST", GT + "auth/login", {"username": ADMIN})
        self.assertBadParam(r, "password")

    def test_stale_cookie_does_not_block_login(self):
        r = self.call("POST", GT + "auth/login",
                      {"username": ADMIN, "password": ADMIN_PW},
                      {"Cookie": "gt_session=" + "0" * 64})
        self.ok(r)


class TestThrottle(AuthCase):
    """10 failures per user pass at full speed, then failures are delayed,
    then answered 429 with Retry-After; valid logins are never delayed."""

    def test_per_user_throttle(self):
        name, pw, _ = self.make_user()
        bad = basic(name, "wrong")
        for i in range(10):
            t = time.monotonic()
            r = self.call("GET", "experiments/search", headers=bad)
            self.assertError(r, 401, "UNAUTHENTICATED")
        t = time.monotonic()
        r = self.call("GET", "experiments/search", headers=bad)
        slow = time.monotonic() - t
        self.assertError(r, 401, "UNAUTHENTICATED")
        self.assertGreaterEqual(slow, 0.9, "11th failure not delayed")
        # a valid login now is not delayed (its hash is cached by then)
        self.ok(self.call("GET", "experiments/search",
                          headers=basic(name, pw)))
        t = time.monotonic()
        self.ok(self.call("GET", "experiments/search",
                          headers=basic(name, pw)))
        self.assertLess(time.monotonic() - t, 0.5, "valid login delayed")
        for i in range(9):
            self.call("GET", "experiments/search", headers=bad)
        r = self.call("GET", "experiments/search", headers=bad)
        self.assertError(r, 429, "REQUEST_LIMIT_EXCEEDED")
        ra = int(r.headers["retry-after"])
        self.assertTrue(0 < ra <= 900, ra)
        # the login form is throttled alike
        r = self.call("POST", GT + "auth/login",
                      {"username": name, "password": "wrong"})
        self.assertError(r, 429)
        self.assertIn("retry-after", r.headers)
        # and the right password, checked recently (cached), still gets in
        self.ok(self.call("POST", GT + "auth/login",
                          {"username": name, "password": pw}))

    def test_locked_account_hashes_no_guess(self):
        """Past the 429 mark guesses are not checked at all, so even the
        right password, not seen lately, is refused: a brute force cannot
        go on at hash speed behind the 429s."""
        name, pw, _ = self.make_user()
        bad = basic(name, "wrong")
        for i in range(20):
            self.call("GET", "experiments/search", headers=bad)
        r = self.call("GET", "experiments/search", headers=basic(name, pw))
        self.assertError(r, 429, "REQUEST_LIMIT_EXCEEDED")
        self.assertIn("retry-after", r.headers)
        # other users from elsewhere are not affected (the address count
        # is far from its limit here)
        self.ok(self.as_admin("GET", "experiments/search"))


def make_test_ca(d):
    """A CA and a server certificate for 127.0.0.1/localhost it signed."""
    def ossl(*a):
        subprocess.run(["openssl"] + list(a), cwd=d, check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                       timeout=60)
    ossl("req", "-x509", "-newkey", "ec", "-pkeyopt",
         "ec_paramgen_curve:P-256", "-nodes", "-keyout", "ca.key", "-out",
         "ca.pem", "-days", "2", "-subj", "/CN=auth test CA")
    ossl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
         "-nodes", "-keyout", "srv.key", "-out", "srv.csr", "-subj",
         "/CN=localhost")
    with open(os.path.join(d, "san.cnf"), "w") as f:
        f.write("subjectAltName=DNS:localhost,IP:127.0.0.1\n")
    ossl("x509", "-req", "-in", "srv.csr", "-CA", "ca.pem", "-CAkey",
         "ca.key", "-CAcreateserial", "-out", "srv.pem", "-days", "2",
         "-extfile", "san.cnf")
    return [os.path.join(d, n) for n in ("ca.pem", "srv.pem", "srv.key")]


class TestDoneWhenOverTls(AuthCase):
    """The issue's "Done when" bullets that meet the browser guard and TLS,
    with --auth on: HTTPS with a test CA, a cross-site POST and a foreign
    Host refused even with good credentials, /health open, the session
    cookie Secure."""

    @classmethod
    def setUpClass(cls):
        import tempfile
        cls.pki_dir = tempfile.mkdtemp(prefix="gt-auth-ca-")
        cls.ca, cert, key = make_test_ca(cls.pki_dir)
        cls.server_args = ["--auth", "--tls-cert", cert, "--tls-key", key]
        super().setUpClass()

    @classmethod
    def tearDownClass(cls):
        import shutil
        super().tearDownClass()
        shutil.rmtree(cls.pki_dir, True)

    def curl(self, path, *args, host="127.0.0.1"):
        p = subprocess.run(
            ["curl", "-sS", "--max-time", "20", "--cacert", self.ca, "-o",
             "/dev/null", "-D", "-", "-w", "%{http_code}"] + list(args) +
            ["https://%s:%d%s" % (host, self.server.port, path)],
            capture_output=True, text=True, timeout=60)
        self.assertEqual(p.returncode, 0, p.stderr)
        return int(p.stdout[-3:]), p.stdout[:-3]

    def test_https_with_the_test_ca(self):
        self.assertEqual(self.curl("/health")[0], 200)
        self.assertEqual(self.curl(API + "experiments/search")[0], 401)
        self.assertEqual(self.curl(API + "experiments/search", "-u",
                                   "%s:%s" % (ADMIN, ADMIN_PW))[0], 200)
        self.assertEqual(self.curl(API + "experiments/search", "-u",
                                   "%s:%s" % (ADMIN, ADMIN_PW),
                                   host="localhost")[0], 200)

    def test_cross_site_post_and_foreign_host_refused(self):
        cred = ["-u", "%s:%s" % (ADMIN, ADMIN_PW)]
        body = ["-H", "Content-Type: application/json", "-d",
                json.dumps({"name": uniq("x")})]
        code, _ = self.curl(API + "experiments/create", *(cred + body + [
            "-H", "Sec-Fetch-Site: cross-site"]))
        self.assertEqual(code, 403)
        code, _ = self.curl(API + "experiments/create", *(cred + body + [
            "-H", "Origin: https://evil.example"]))
        self.assertEqual(code, 403)
        code, _ = self.curl(API + "experiments/search", *(cred + [
            "-H", "Host: rebound.example:%d" % self.server.port]))
        self.assertIn(code, (400, 421))
        self.assertEqual(self.curl(API + "experiments/create",
                                   *(cred + body))[0], 200)

    def test_session_cookie_is_secure_over_tls(self):
        code, head = self.curl(GT + "auth/login", "-H",
                               "Content-Type: application/json", "-d",
                               json.dumps({"username": ADMIN,
                                           "password": ADMIN_PW}))
        self.assertEqual(code, 200)
        cookie = [l for l in head.splitlines()
                  if l.lower().startswith("set-cookie:")][0]
        for attr in ("Secure", "HttpOnly", "SameSite=Strict"):
            self.assertIn(attr, cookie)


class TestThrottlePerAddress(AuthCase):
    """50 failures from one address (each naming another user, so no
    per-user count is reached) pass at full speed, the 51st is delayed;
    the admin's valid login from that address still is not."""

    def test_per_address_throttle(self):
        for i in range(50):
            r = self.call("GET", "experiments/search",
                          headers=basic("nobody%d" % i, "x"))
            self.assertError(r, 401, "UNAUTHENTICATED")
        t = time.monotonic()
        r = self.call("GET", "experiments/search",
                      headers=basic("nobody-last", "x"))
        self.assertError(r, 401, "UNAUTHENTICATED")
        self.assertGreaterEqual(time.monotonic() - t, 0.9)
        self.ok(self.as_admin("GET", "experiments/search"))
        t = time.monotonic()
        self.ok(self.as_admin("GET", "experiments/search"))
        self.assertLess(time.monotonic() - t, 0.5)
        # unknown tokens count against the address too
        t = time.monotonic()
        r = self.call("GET", "experiments/search",
                      headers=bearer("gtk_" + "0" * 64))
        self.assertError(r, 401, "UNAUTHENTICATED")
        self.assertGreaterEqual(time.monotonic() - t, 0.9)


class TestStartup(ServerTestCase):
    """Bootstrap rules: no users and no admin variables = no start; the
    admin variables matter only for an empty database."""
    server_args = []

    def test_refuses_to_start_without_admin(self):
        s = Server(args=["--auth"])
        s.spawn()
        rc = s.wait_exit(20)
        self.assertNotEqual(rc, 0)
        err = s.stderr_text()
        self.assertIn("GREENTRACK_ADMIN_USERNAME", err)
        self.assertEqual(len(err.strip().splitlines()[-1:]), 1)
        s.cleanup()

    def test_env_switch_and_restart_keeps_users(self):
        env = {"GREENTRACK_AUTH": "1", "GREENTRACK_ADMIN_USERNAME": "a1",
               "GREENTRACK_ADMIN_PASSWORD": "p1"}
        s = Server(env=env).start()
        c = s.client()
        self.assertEqual(c.get("experiments/search").status, 401)
        self.assertEqual(c.get("experiments/search",
                               headers=basic("a1", "p1")).status, 200)
        c.close()
        s.stop()
        # restart with other admin variables: the first admin stays
        s2 = Server(tmpdir=s.tmpdir, db=s.db, args=["--auth"],
                    env={"GREENTRACK_ADMIN_USERNAME": "a2",
                         "GREENTRACK_ADMIN_PASSWORD": "p2"}).start()
        c = s2.client()
        self.assertEqual(c.get("experiments/search",
                               headers=basic("a1", "p1")).status, 200)
        self.assertEqual(c.get("experiments/search",
                               headers=basic("a2", "p2")).status, 401)
        c.close()
        s2.stop()
        s.cleanup()

    def test_non_loopback_without_auth_warns(self):
        s = Server(args=["--host", "0.0.0.0", "--allowed-hosts", "*"]).start()
        s.stop()
        warns = [l for l in s.stderr_text().splitlines()
                 if "without --auth" in l]
        self.assertEqual(len(warns), 1, s.stderr_text())
        s.cleanup()

    def test_auth_off_whoami(self):
        b = self.ok(self.get("/api/2.0/greentrack/auth/whoami"))
        self.assertEqual(b, {"auth_enabled": False, "user": None,
                             "auth_method": "none"})

    def test_auth_api_is_off_without_auth(self):
        """No users can be seeded into a database while auth is off."""
        r = self.post("users/create", {"username": "seed", "password": "x"})
        self.assertError(r, 400, "BAD_REQUEST", "Authentication is off")
        r = self.post("experiments/permissions/create", {
            "experiment_id": "0", "username": "seed", "permission": "READ"})
        self.assertError(r, 400, "BAD_REQUEST")
        r = self.get("/api/2.0/greentrack/users/list")
        self.assertError(r, 400, "BAD_REQUEST")
        r = self.post("/api/2.0/greentrack/tokens/create", {"name": "t"})
        self.assertError(r, 400, "BAD_REQUEST")
        r = self.post("/api/2.0/greentrack/auth/login",
                      {"username": "a", "password": "b"})
        self.assertError(r, 400, "BAD_REQUEST")
        self.assertEqual(self.get("/signup").status, 400)

    def test_bad_default_permission(self):
        s = Server(args=["--auth", "--auth-default-permission", "WRITE"])
        s.spawn()
        self.assertEqual(s.wait_exit(20), 2)
        self.assertIn("auth-default-permission", s.stderr_text())
        s.cleanup()


class TestDefaultNoPermissions(AuthCase):
    server_args = ["--auth", "--auth-default-permission", "NO_PERMISSIONS"]

    def test_search_hides_unreadable(self):
        name, pw, _ = self.make_user()
        me = basic(name, pw)
        secret_exp = self.new_experiment(basic(ADMIN, ADMIN_PW))
        mine = self.new_experiment(me)
        ids = [e["experiment_id"] for e in self.ok(self.call(
            "GET", "experiments/search", headers=me,
            query={"max_results": 100})).get("experiments", [])]
        self.assertEqual(ids, [mine])
        r = self.call("GET", "experiments/get", headers=me,
                      query={"experiment_id": secret_exp})
        self.assertError(r, 403, "PERMISSION_DENIED")
        r = self.call("GET", "experiments/list", headers=me)
        self.assertError(r, 403, "PERMISSION_DENIED")
        # greentrack's summary list hides it too
        summ = self.ok(self.call("GET", GT + "experiments/summary",
                                 headers=me))["experiments"]
        self.assertEqual([e["experiment_id"] for e in summ], [mine])
        summ = self.ok(self.as_admin("GET", GT + "experiments/summary"))
        self.assertIn(secret_exp, [e["experiment_id"]
                                   for e in summ["experiments"]])

    def test_model_search_hides_unreadable(self):
        name, pw, _ = self.make_user()
        me = basic(name, pw)
        hidden, mine = uniq("hidden"), uniq("mine")
        self.ok(self.as_admin("POST", "registered-models/create",
                              {"name": hidden}))
        self.ok(self.call("POST", "registered-models/create",
                          {"name": mine}, me))
        got = [m["name"] for m in self.ok(self.call(
            "GET", "registered-models/search", headers=me,
            query={"max_results": 100})).get("registered_models", [])]
        self.assertEqual(got, [mine])
        got = [m["name"] for m in self.ok(self.as_admin(
            "GET", "registered-models/search",
            query={"max_results": 100}))["registered_models"]]
        self.assertEqual(sorted(got), sorted([hidden, mine]))
        r = self.call("GET", "registered-models/get", headers=me,
                      query={"name": hidden})
        self.assertError(r, 403, "PERMISSION_DENIED")


class TestNpmClient(AuthCase):
    """The npm mlflow client with MLflow credentials as headers."""

    def run_node(self, headers):
        script = """
import { createRequire } from 'node:module';
const require = createRequire(process.cwd() + '/x.js');
const MLflow = require('mlflow').default || require('mlflow');
const M = MLflow.MLflow || MLflow;
const c = new M({endpoint: process.env.EP, headers: JSON.parse(process.env.HDR)});
try {
  const e = await c.Experiments.create({name: process.env.NAME});
  const r = await c.Runs.create({experiment_id: e.experiment_id});
  await c.Runs.logMetric({run_id: r.run.info.run_id, key: 'acc', value: 0.9,
                          timestamp: Date.now()});
  console.log('OK ' + e.experiment_id);
} catch (err) {
  console.log('ERR ' + (err && (err.status || err.message)));
}
"""
        env = dict(os.environ, EP="http://%s:%d" % (self.server.host,
                                                     self.server.port),
                   HDR=json.dumps(headers), NAME=uniq("npm"))
        p = subprocess.run(["node", "--input-type=module", "-e", script],
                           cwd=HERE, env=env, capture_output=True,
                           text=True, timeout=60)
        # the client prints each request body: keep our own line
        lines = [l for l in (p.stdout + p.stderr).splitlines()
                 if l.startswith(("OK ", "ERR"))]
        return lines[-1] if lines else p.stdout + p.stderr

    def test_npm_client_with_and_without_credentials(self):
        if not os.path.isdir(os.path.join(HERE, "node_modules", "mlflow")):
            self.skipTest("npm mlflow not installed")
        out = self.run_node(basic(ADMIN, ADMIN_PW))
        self.assertTrue(out.startswith("OK "), out)
        out = self.run_node({})
        self.assertTrue(out.startswith("ERR"), out)
        self.assertIn("401", out)
