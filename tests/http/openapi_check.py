#!/usr/bin/env python3
"""Checks docs/openapi.yaml against a real `peel serve`, both ways.

Usage: openapi_check.py PEEL_BINARY OPENAPI_YAML

First the spec itself: OpenAPI 3.1, every $ref resolves, every path parameter declared, every
schema valid JSON Schema 2020-12. Then a server on a free loopback port is driven through a whole
flow (token, session, uploads, state, messages, exports, downloads, credits, admin, tus) and
provoked into its errors. Every answer must be described by the spec: its route and method, its
status, the headers the spec requires and a Content-Type among the spec's; JSON bodies (and each
Server-Sent Event) must validate against their schemas. Every route but tus's must have been
exercised. Exits 1 naming the route, status and schema error of each failure.

Python's standard library, PyYAML and jsonschema (4.10, Debian 12's, or later) only.
"""

import base64
import hashlib
import http.client
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid

import jsonschema
import yaml
from jsonschema import Draft202012Validator

# The spec's own URI while validating: refs are resolved against the whole document.
BASE_URI = "https://peel.invalid/openapi.yaml"
ADMIN_TOKEN = "openapi-check-admin-token"
ATTRIBUTION = {"X-Skill-Source": "openapi-check", "X-Skill-Version": "1.0",
               "X-Skill-Platform": "linux"}
TUS = {"Tus-Resumable": "1.0.0"}


def pointer_escape(part):
    return str(part).replace("~", "~0").replace("/", "~1")


def pointer_get(document, pointer):
    """The node at a JSON pointer ("" or "/a/b"); KeyError when there is none."""
    node = document
    if pointer == "":
        return node
    for raw in pointer.lstrip("/").split("/"):
        part = raw.replace("~1", "/").replace("~0", "~")
        if isinstance(node, list):
            node = node[int(part)]
        elif isinstance(node, dict) and part in node:
            node = node[part]
        else:
            raise KeyError(pointer)
    return node


class Spec:
    """The OpenAPI document: checks of its own, and what it says about one answer."""

    def __init__(self, path):
        with open(path, encoding="utf-8") as f:
            self.doc = yaml.safe_load(f)
        self.errors = []
        self._validators = {}
        try:  # jsonschema 4.18 and later resolve refs through `referencing`
            from referencing import Registry, Resource
            from referencing.jsonschema import DRAFT202012
            registry = Registry().with_resource(
                BASE_URI, Resource(contents=self.doc, specification=DRAFT202012))
            self._make = lambda s: Draft202012Validator(s, registry=registry)
        except ImportError:  # 4.10: a RefResolver over the document
            resolver = jsonschema.RefResolver(base_uri=BASE_URI, referrer=self.doc)
            self._make = lambda s: Draft202012Validator(s, resolver=resolver)
        self.routes = []  # (template, regex, path item pointer)
        for template in self.doc.get("paths", {}):
            self.routes.append((template, self._regex(template), "/paths/" + pointer_escape(template)))

    # --- The document's own checks --------------------------------------------------------
    def check_document(self):
        version = str(self.doc.get("openapi", ""))
        if not re.fullmatch(r"3\.1\.\d+", version):
            self.errors.append(f"openapi is {version!r}, not 3.1.x")
        self._check_refs(self.doc, "")
        operation_ids = set()
        schemes = self.doc.get("components", {}).get("securitySchemes", {})
        for requirement in self.doc.get("security", []):
            self._check_security(requirement, "/security", schemes)
        for template, _, item_pointer in self.routes:
            item = self.doc["paths"][template]
            in_template = set(re.findall(r"{([^}]+)}", template))
            shared = self._path_params(item.get("parameters", []))
            operations = [m for m in ("get", "put", "post", "delete", "options", "head", "patch",
                                      "trace") if m in item]
            if not operations:
                self.errors.append(f"{template}: no operation")
            for method in operations:
                op = item[method]
                where = f"{method.upper()} {template}"
                declared = dict(shared)
                declared.update(self._path_params(op.get("parameters", [])))
                for name in in_template - set(declared):
                    self.errors.append(f"{where}: path parameter {{{name}}} is not declared")
                for name, p in declared.items():
                    if name not in in_template:
                        self.errors.append(f"{where}: path parameter {name} is not in the path")
                    elif p.get("required") is not True:
                        self.errors.append(f"{where}: path parameter {name} is not required: true")
                if not op.get("responses"):
                    self.errors.append(f"{where}: no responses")
                for status in op.get("responses", {}):
                    if not re.fullmatch(r"[1-5]\d\d|default", str(status)):
                        self.errors.append(f"{where}: response key {status!r} is not a status")
                oid = op.get("operationId")
                if oid in operation_ids:
                    self.errors.append(f"{where}: operationId {oid} is used twice")
                operation_ids.add(oid)
                for requirement in op.get("security", []):
                    self._check_security(requirement, where, schemes)
        self._check_schemas(self.doc, "")
        return self.errors

    def _check_refs(self, node, where):
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str):
                if not ref.startswith("#"):
                    self.errors.append(f"{where}: $ref {ref} is not inside the document")
                else:
                    try:
                        pointer_get(self.doc, ref[1:])
                    except (KeyError, IndexError, ValueError):
                        self.errors.append(f"{where}: $ref {ref} does not resolve")
            for key, value in node.items():
                self._check_refs(value, f"{where}/{pointer_escape(key)}")
        elif isinstance(node, list):
            for i, value in enumerate(node):
                self._check_refs(value, f"{where}/{i}")

    def _check_schemas(self, node, where):
        if isinstance(node, dict):
            for key, value in node.items():
                at = f"{where}/{pointer_escape(key)}"
                is_schema = key in ("schema", "x-event-data") or where == "/components/schemas"
                if is_schema and isinstance(value, dict):
                    try:
                        Draft202012Validator.check_schema(value)
                    except jsonschema.SchemaError as e:
                        self.errors.append(f"{at}: not a valid JSON Schema: {e.message}")
                elif not is_schema:
                    self._check_schemas(value, at)
        elif isinstance(node, list):
            for i, value in enumerate(node):
                self._check_schemas(value, f"{where}/{i}")

    def _check_security(self, requirement, where, schemes):
        for name in requirement:
            if name not in schemes:
                self.errors.append(f"{where}: security scheme {name} is not defined")

    def _path_params(self, parameters):
        out = {}
        for p in parameters:
            p = self.resolve(p)[0]
            if p.get("in") == "path":
                out[p["name"]] = p
        return out

    # --- What the spec says about an answer --------------------------------------------------
    def resolve(self, node, pointer=""):
        """Follows $refs: (the node, its pointer)."""
        seen = 0
        while isinstance(node, dict) and "$ref" in node and seen < 20:
            pointer = node["$ref"][1:]
            node = pointer_get(self.doc, pointer)
            seen += 1
        return node, pointer

    def _regex(self, template):
        item = self.doc["paths"][template]
        params = {}
        for p in item.get("parameters", []):
            p = self.resolve(p)[0]
            if p.get("in") == "path":
                params[p["name"]] = p
        pattern = ""
        for piece in re.split(r"({[^}]+})", template):
            if piece.startswith("{"):
                name = piece[1:-1]
                greedy = params.get(name, {}).get("x-multi-segment") is True
                pattern += f"(?P<{name}>{'.+' if greedy else '[^/]+'})"
            else:
                pattern += re.escape(piece)
        return re.compile(pattern + "$")

    def match(self, path):
        """The route template whose pattern the (raw) path matches, or None."""
        found = [t for t, regex, _ in self.routes if regex.match(path)]
        found.sort(key=lambda t: t.count("{"))  # the most literal first
        return found[0] if found else None

    def validate(self, pointer, instance):
        """The schema errors of `instance` against the schema at `pointer`, best first."""
        if pointer not in self._validators:
            self._validators[pointer] = self._make({"$ref": BASE_URI + "#" + pointer})
        validator = self._validators[pointer]
        errors = list(validator.iter_errors(instance))
        if not errors:
            return []
        return sorted(errors, key=jsonschema.exceptions.relevance, reverse=True)


def json_path(error):
    return "$" + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error.absolute_path)


def describe(error):
    """Where in the body, and what is wrong there (for oneOf/anyOf: the closest branch's, the
    one with the fewest errors)."""
    while error.context:
        branches = {}
        for e in error.context:
            branches.setdefault(e.relative_schema_path[0], []).append(e)
        error = max(min(branches.values(), key=len), key=jsonschema.exceptions.relevance)
    detail = error.message
    if len(detail) > 300:
        detail = detail[:300] + "..."
    return f"{json_path(error)}: {detail}"


class Reply:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = {k.lower(): v for k, v in headers.items()}
        self.body = body

    def json(self):
        try:
            return json.loads(self.body)
        except ValueError:
            return None


def media_matches(media, key):
    key = key.lower()
    if key == "*/*" or key == media:
        return True
    return key.endswith("/*") and media.split("/")[0] == key[:-2]


def parse_sse(text):
    events = []
    for block in re.split(r"\r?\n\r?\n", text):
        event = {}
        for line in block.splitlines():
            if line.startswith(":") or not line:
                continue
            name, _, value = line.partition(":")
            event[name] = value[1:] if value.startswith(" ") else value
        if event:
            events.append(event)
    return events


class Check:
    """The server under test, and every answer it gave checked against the spec."""

    def __init__(self, spec):
        self.spec = spec
        self.failures = []
        self.exercised = set()  # (template, method)
        self.url = None
        self.quiet = False

    def fail(self, line):
        self.failures.append(line)
        print("FAIL  " + line, flush=True)

    def call(self, method, path, headers=None, body=None, expect=None, announce_length=None,
             verify=True):
        """One request; its answer checked unless not `verify`. `announce_length`: send only
        the headers, with this Content-Length (the server refuses before reading a body)."""
        url = path if path.startswith("http") else self.url + path
        headers = dict(headers or {})
        try:
            if announce_length is not None:
                reply = self._headers_only(method, url, headers, announce_length)
            else:
                request = urllib.request.Request(url, data=body, method=method, headers=headers)
                try:
                    with urllib.request.urlopen(request, timeout=120) as r:
                        reply = Reply(r.status, r.headers, r.read())
                except urllib.error.HTTPError as e:
                    reply = Reply(e.code, e.headers, e.read())
        except (OSError, http.client.HTTPException) as e:  # URLError is an OSError
            self.fail(f"{method} {urllib.parse.urlsplit(url).path}: no answer: {e}")
            return Reply(0, {}, b"")
        if verify:
            self.check(method, url, reply, expect)
        return reply

    @staticmethod
    def _headers_only(method, url, headers, length):
        parts = urllib.parse.urlsplit(url)
        conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
        target = parts.path + ("?" + parts.query if parts.query else "")
        conn.putrequest(method, target)
        for name, value in headers.items():
            conn.putheader(name, value)
        conn.putheader("Content-Length", str(length))
        conn.endheaders()
        r = conn.getresponse()
        reply = Reply(r.status, r.headers, r.read())
        conn.close()
        return reply

    def check(self, method, url, reply, expect):
        path = urllib.parse.urlsplit(url).path
        template = self.spec.match(path)
        label = f"{method} {template or path} -> {reply.status}"
        problems = []
        if expect is not None and reply.status != expect:
            problems.append(f"expected {expect}")
        doc = self.spec.doc
        response = pointer = None
        head = method == "HEAD"
        item = doc["paths"].get(template) if template else None
        op_method = method.lower()
        if item is not None and op_method not in item and head and "get" in item:
            op_method = "get"  # HEAD is answered on every GET route
        unrouted = doc.get("x-unrouted-responses", {})
        # The HTTP layer's own answers: headers too large (431) on any path, no route (404),
        # another method (405).
        layer = ("431" if reply.status == 431 else "404" if item is None
                 else "405" if op_method not in item else None)
        if layer:
            if str(reply.status) != layer:
                problems.append(f"the spec has no route for {path}" if layer == "404" else
                                f"the spec has no {method} on {template}")
            elif layer not in unrouted:
                problems.append(f"the spec lacks {layer} in x-unrouted-responses")
            else:
                response, pointer = self.spec.resolve(unrouted[layer],
                                                      "/x-unrouted-responses/" + layer)
        else:
            self.exercised.add((template, method.lower()))
            responses = item[op_method].get("responses", {})
            key = str(reply.status)
            if key not in responses:
                problems.append(f"the spec lacks status {reply.status} for {method} {template}")
            else:
                response, pointer = self.spec.resolve(
                    responses[key],
                    f"/paths/{pointer_escape(template)}/{op_method}/responses/{key}")
        if response is not None:
            problems += self._check_headers(response, pointer, reply)
            problems += self._check_content(response, pointer, reply, head)
        if problems:
            detail = reply.body[:300].decode("utf-8", "replace") if reply.body else ""
            self.fail(f"{label}: " + "; ".join(problems) + (f"\n      body: {detail}" if detail else ""))
        elif not self.quiet or not 200 <= reply.status < 300:
            print(f"ok    {label}", flush=True)

    def _check_headers(self, response, pointer, reply):
        problems = []
        for name, header in response.get("headers", {}).items():
            header, at = self.spec.resolve(header, f"{pointer}/headers/{pointer_escape(name)}")
            if name.lower() == "content-type":
                continue
            value = reply.headers.get(name.lower())
            if value is None:
                if header.get("required"):
                    problems.append(f"header {name} is missing")
                continue
            schema, schema_at = self.spec.resolve(header.get("schema", {}), at + "/schema")
            instance = value
            if schema.get("type") == "integer":
                try:
                    instance = int(value)
                except ValueError:
                    problems.append(f"header {name}: {value!r} is not an integer")
                    continue
            for e in self.spec.validate(schema_at, instance)[:1]:
                problems.append(f"header {name}: {value!r}: {e.message}")
        return problems

    def _check_content(self, response, pointer, reply, head):
        content = response.get("content")
        ctype = reply.headers.get("content-type")
        if not content:
            problems = []
            if reply.body:
                problems.append(f"the spec says no body, the answer has {len(reply.body)} bytes")
            if ctype:
                problems.append(f"the spec says no body, the answer has Content-Type {ctype}")
            return problems
        if not ctype:
            return [f"no Content-Type; the spec says {', '.join(content)}"]
        media = ctype.split(";")[0].strip().lower()
        keys = [k for k in content if media_matches(media, k)]
        if not keys:
            return [f"Content-Type {ctype} is not among the spec's {', '.join(content)}"]
        key = keys[0]
        if head:
            return [f"a HEAD answer with a body of {len(reply.body)} bytes"] if reply.body else []
        at = f"{pointer}/content/{pointer_escape(key)}"
        media_object = content[key]
        if media == "application/json" or media.endswith("+json"):
            body = reply.json()
            if body is None:
                return ["the body is not JSON"]
            return [describe(e) for e in self.spec.validate(at + "/schema", body)[:1]]
        if media == "text/event-stream":
            return self._check_events(media_object, at, reply.body.decode("utf-8"))
        if media.startswith("text/") and "schema" in media_object:
            text = reply.body.decode("utf-8", "replace")
            return [describe(e) for e in self.spec.validate(at + "/schema", text)[:1]]
        length = reply.headers.get("content-length")
        if length is not None and int(length) != len(reply.body):
            return [f"Content-Length {length} but {len(reply.body)} bytes came"]
        return []

    def _check_events(self, media_object, at, text):
        problems = []
        events = parse_sse(text)
        if not events:
            problems.append("no event in the stream")
        for e in events:
            if "data" not in e:
                problems.append(f"event {e} has no data")
                continue
            try:
                data = json.loads(e["data"])
            except ValueError:
                problems.append(f"event {e.get('id')}: data is not JSON")
                continue
            if isinstance(data, dict) and e.get("event") != data.get("type"):
                problems.append(f"event {e.get('id')}: named {e.get('event')} but its type is "
                                f"{data.get('type')}")
            if "x-event-data" in media_object:
                for err in self.spec.validate(at + "/x-event-data", data)[:1]:
                    problems.append(f"event {e.get('id')} ({e.get('event')}): {describe(err)}")
        return problems


# --- The flow ---------------------------------------------------------------------------------

def multipart(files):
    """A multipart/form-data body of `files` [(name, bytes, type)], in fields named files."""
    boundary = "peel-openapi-" + uuid.uuid4().hex
    body = b""
    for name, data, ctype in files:
        body += (f"--{boundary}\r\nContent-Disposition: form-data; name=\"files\"; "
                 f"filename=\"{name}\"\r\nContent-Type: {ctype}\r\n\r\n").encode() + data + b"\r\n"
    body += f"--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"


def as_json(value):
    return json.dumps(value).encode()


def make_fixtures(folder):
    video = os.path.join(folder, "talk.mp4")
    subprocess.run(["ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-y",
                    "-f", "lavfi", "-i", "sine=frequency=440:duration=5",
                    "-f", "lavfi", "-i", "testsrc=duration=5:size=160x120:rate=25",
                    "-shortest", "-c:v", "libx264", "-pix_fmt", "yuv420p", "-c:a", "aac",
                    video], check=True)
    with open(video, "rb") as f:
        return f.read(), b"these are not the frames you are looking for\n" * 20


def start_server(peel, folder):
    data = os.path.join(folder, "data")
    port_file = os.path.join(folder, "port")
    with open(os.path.join(folder, "server.log"), "wb") as log:
        proc = subprocess.Popen([peel, "serve", "--listen", "127.0.0.1:0", "--data", data,
                                 "--port-file", port_file, "--admin-token", ADMIN_TOKEN,
                                 "--upload-limit", "1M", "--allow-url-range", "127.0.0.1/32"],
                                stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            break
        try:
            with open(port_file, encoding="ascii") as f:
                text = f.read()
            if text.endswith("\n"):
                return proc, "http://127.0.0.1:" + text.strip()
        except FileNotFoundError:
            pass
        time.sleep(0.05)
    proc.kill()
    proc.wait()
    with open(os.path.join(folder, "server.log"), encoding="utf-8", errors="replace") as f:
        sys.exit("peel serve did not start:\n" + f.read())


def token(check, client_id):
    r = check.call("POST", "/api/auth/anonymous-token", {"X-Client-Id": client_id}, expect=200)
    return {"Authorization": "Bearer " + (r.json() or {}).get("data", {}).get("token", "")}


def session(check, auth):
    r = check.call("POST", "/api/tasks/me/with-session/peel",
                   {**auth, "Content-Type": "application/json"},
                   as_json({"task_name": "openapi", "language": "en"}), expect=200)
    return (r.json() or {}).get("data", {}).get("session_id", "")


def upload(check, auth, sid, files, expect):
    body, ctype = multipart(files)
    return check.call("POST", f"/api/upload-video/peel/me/{sid}", {**auth, "Content-Type": ctype},
                      body, expect=expect)


def run_sse(check, auth, body, expect=200, headers=None):
    return check.call("POST", "/run_sse",
                      {**auth, "Content-Type": "application/json", "Accept": "text/event-stream",
                       **(headers or {})}, as_json(body), expect=expect)


def flow(check, video, text):
    # Health and metrics: no token.
    check.call("GET", "/healthz", expect=200)
    check.call("GET", "/metrics", expect=200)

    # Tokens and sessions.
    check.call("POST", "/api/auth/anonymous-token", expect=400)
    check.call("POST", "/api/auth/anonymous-token", {"X-Client-Id": "not a uuid!"}, expect=400)
    auth = token(check, str(uuid.uuid4()))
    check.call("GET", "/api/credits/balance/simple", expect=401)
    check.call("GET", "/api/credits/balance/simple", {"Authorization": "Bearer not-a-token"},
               expect=401)
    sid = session(check, auth)
    json_auth = {**auth, "Content-Type": "application/json"}
    check.call("POST", "/api/tasks/me/with-session/other_app", json_auth, b"{}", expect=404)
    check.call("POST", "/api/tasks/me/with-session/peel", json_auth, as_json({"task_name": 5}),
               expect=400)
    check.call("POST", "/api/tasks/me/with-session/peel", json_auth, b"[" * 100 + b"]" * 100,
               expect=400)
    check.call("POST", "/api/tasks/me/with-session/peel", json_auth, announce_length=2 << 20,
               expect=413)

    # Uploads.
    up = upload(check, auth, sid, [("talk.mp4", video, "video/mp4")], 200)
    upload_id = ((up.json() or {}).get("data", {}).get("files") or [{}])[0].get("upload_id", "")
    upload(check, auth, sid, [("notes.txt", text, "text/plain")], 415)
    upload(check, auth, "sess_00000000000000000000000000000000",
           [("talk.mp4", video, "video/mp4")], 404)
    check.call("POST", f"/api/upload-video/peel/me/{sid}", json_auth,
               as_json({"urls": ["http://10.0.0.1/a.mp4"]}), expect=400)
    check.call("POST", f"/api/upload-video/peel/me/{sid}", json_auth,
               as_json({"urls": ["http://no-such-host.invalid/a.mp4"]}), expect=422)
    check.call("POST", f"/api/upload-video/peel/me/{sid}", {**auth, "Content-Type": "text/plain"},
               b"not multipart", expect=400)
    _, ctype = multipart([])
    check.call("POST", f"/api/upload-video/peel/me/{sid}", {**auth, "Content-Type": ctype},
               announce_length=8 << 20, expect=413)

    # State.
    check.call("GET", f"/api/state/peel/me/{sid}/latest", auth, expect=200)
    check.call("GET", "/api/state/peel/me/sess_00000000000000000000000000000000/latest", auth,
               expect=404)
    check.call("GET", f"/api/state/other_app/me/{sid}/latest", auth, expect=404)

    # Messages over SSE: data asked for, an extraction, a resumed stream, refusals.
    run_sse(check, auth, {"session_id": sid, "new_message": {"parts": [{"text": "credits?"}]}})
    r = run_sse(check, auth, {"app_name": "peel", "user_id": "me", "session_id": sid,
                              "new_message": {"role": "user",
                                              "parts": [{"text": "extract the audio as mp3"}]}})
    events = parse_sse(r.body.decode("utf-8", "replace"))
    if events and "id" in events[0]:
        run_sse(check, auth, {"session_id": sid}, headers={"Last-Event-ID": events[0]["id"]})
    run_sse(check, auth, {"session_id": sid}, headers={"Last-Event-ID": "999999"}, expect=404)
    run_sse(check, auth, {"new_message": {"parts": [{"text": "hello"}]}}, expect=400)
    run_sse(check, auth, {"app_name": "other_app", "session_id": sid,
                          "new_message": {"parts": [{"text": "hello"}]}}, expect=404)

    # Exports.
    export = {"id": "render_openapi_1", "sessionId": sid, "upload_id": upload_id,
              "output": {"format": "mp3", "quality": "medium"},
              "callback_url": "http://127.0.0.1:9/hook"}  # nothing answers: retried, pending
    check.call("POST", "/api/render/proxy/lambda", json_auth, as_json(export), expect=402)
    attributed = {**json_auth, **ATTRIBUTION}
    check.call("POST", "/api/render/proxy/lambda", attributed, as_json({**export, "from": "soon"}),
               expect=400)
    check.call("POST", "/api/render/proxy/lambda", attributed, b"{\"id\": ", expect=400)
    check.call("POST", "/api/render/proxy/lambda", attributed,
               as_json({**export, "callback_url": "http://10.0.0.1/hook"}), expect=400)
    check.call("POST", "/api/render/proxy/lambda", attributed,
               as_json({**export, "id": "render_openapi_track", "track": 7}), expect=422)
    check.call("POST", "/api/render/proxy/lambda", attributed,
               as_json({**export, "id": "render_openapi_nosession",
                        "sessionId": "sess_00000000000000000000000000000000"}), expect=404)
    check.call("POST", "/api/render/proxy/lambda", attributed, as_json(export), expect=202)
    check.call("POST", "/api/render/proxy/lambda", attributed, as_json(export), expect=200)
    check.call("POST", "/api/render/proxy/lambda", attributed,
               as_json({**export, "output": {"format": "flac"}}), expect=409)
    job = {}
    deadline = time.monotonic() + 60
    check.quiet = True
    while time.monotonic() < deadline:
        job = (check.call("GET", "/api/render/proxy/lambda/render_openapi_1", auth,
                          expect=200).json() or {}).get("data", {})
        if job.get("status") in ("completed", "failed", "cancelled"):
            break
        time.sleep(0.2)
    check.quiet = False
    check.call("GET", "/api/render/proxy/lambda/render_openapi_1", auth, expect=200)
    if job.get("status") != "completed":
        check.fail(f"export render_openapi_1 ended {job.get('status')}: {job.get('error')}")
        return None
    check.call("GET", "/api/render/proxy/lambda/render_nothing", auth, expect=404)
    check.call("DELETE", "/api/render/proxy/lambda/render_openapi_1", auth, expect=200)
    check.call("DELETE", "/api/render/proxy/lambda/render_nothing", auth, expect=404)

    # Downloads: whole, a range, the tail, outside the file, HEAD, a forged signature.
    url = job["output"]["url"]
    whole = check.call("GET", url, expect=200)
    part = check.call("GET", url, {"Range": "bytes=10-109"}, expect=206)
    if part.body != whole.body[10:110]:
        check.fail(f"GET {url} with Range bytes=10-109: not those bytes of the file")
    check.call("GET", url, {"Range": "bytes=-10"}, expect=206)
    check.call("GET", url, {"Range": f"bytes={len(whole.body)}-"}, expect=416)
    check.call("HEAD", url, expect=200)
    check.call("HEAD", url, {"Range": "bytes=0-0"}, expect=206)
    forged = url[:-1] + ("1" if url.endswith("0") else "0")
    check.call("GET", forged, expect=403)

    # Credits, and the operator's grants; a client with none left is refused (2001).
    check.call("GET", "/api/credits/balance/simple", auth, expect=200)
    other = str(uuid.uuid4())
    other_auth = token(check, other)
    other_sid = session(check, other_auth)
    extract = {"new_message": {"parts": [{"text": "extract the audio as mp3"}]}}
    run_sse(check, other_auth, {"session_id": other_sid, **extract})  # a question: no file yet
    admin = {"Authorization": "Bearer " + ADMIN_TOKEN, "Content-Type": "application/json"}
    check.call("POST", "/api/admin/credits", {"Content-Type": "application/json"},
               as_json({"client_id": other, "add": 5}), expect=401)
    check.call("POST", "/api/admin/credits", admin, as_json({"client_id": other, "add": "many"}),
               expect=400)
    check.call("POST", "/api/admin/credits", admin,
               as_json({"client_id": other, "add": -101, "note": "openapi check"}), expect=200)
    # The scheme's name is case-insensitive (RFC 9110 §11.1).
    check.call("POST", "/api/admin/credits", {**admin, "Authorization": "bearer " + ADMIN_TOKEN},
               as_json({"client_id": other, "add": 1}), expect=200)
    other_up = upload(check, other_auth, other_sid, [("talk.mp4", video, "video/mp4")], 200)
    other_upload = ((other_up.json() or {}).get("data", {}).get("files") or [{}])[0]
    check.call("POST", "/api/render/proxy/lambda",
               {**other_auth, "Content-Type": "application/json", **ATTRIBUTION},
               as_json({"id": "render_poor", "sessionId": other_sid,
                        "upload_id": other_upload.get("upload_id", "")}), expect=402)
    r = run_sse(check, other_auth, {"session_id": other_sid, **extract})
    if not any(e.get("event") == "error" for e in parse_sse(r.body.decode("utf-8", "replace"))):
        check.fail("POST /run_sse without credits: no error event")

    # Past the rate limit: a client of its own asks until it is told to wait.
    greedy = token(check, str(uuid.uuid4()))
    check.quiet = True
    limited = False
    for _ in range(1000):
        if check.call("GET", "/api/credits/balance/simple", greedy).status == 429:
            limited = True
            break
    check.quiet = False
    if not limited:
        check.fail("GET /api/credits/balance/simple: 1000 requests at once, never 429")

    # What the HTTP layer answers itself.
    check.call("GET", "/api/nothing/here", expect=404)
    check.call("PUT", "/api/credits/balance/simple", auth, b"", expect=405)
    check.call("GET", "/healthz", {"X-Padding": "a" * (20 * 1024)}, expect=431)
    return auth, sid


def tus_flow(check, auth, sid, video, text):
    """Resumable uploads; skipped while the server has no tus routes."""
    base = f"/api/tus/peel/me/{sid}"
    probe = check.call("OPTIONS", base, verify=False)
    if probe.status == 404:
        print("tus not served yet: skipped", flush=True)
        return
    check.check("OPTIONS", check.url + base, probe, 204)
    tus_auth = {**auth, **TUS}
    name = "filename " + base64.b64encode(b"resumed.mp4").decode() + ",filetype " + \
        base64.b64encode(b"video/mp4").decode()
    check.call("POST", base, {**auth, "Upload-Length": str(len(video))}, expect=412)
    check.call("POST", base, {**tus_auth, "Upload-Defer-Length": "1"}, expect=400)
    check.call("POST", base, {**tus_auth, "Upload-Length": str(2 << 20)}, expect=413)
    check.call("POST", base, {**TUS, "Upload-Length": "10"}, expect=401)
    check.call("POST", "/api/tus/peel/me/sess_00000000000000000000000000000000",
               {**tus_auth, "Upload-Length": "10"}, expect=404)
    created = check.call("POST", base, {**tus_auth, "Upload-Length": str(len(video)),
                                        "Upload-Metadata": name}, expect=201)
    location = created.headers.get("location", "")
    if not location:
        check.fail(f"POST {base} -> 201 without Location")
        return
    check.call("OPTIONS", location, expect=204)
    check.call("HEAD", location, tus_auth, expect=200)
    check.call("HEAD", location, auth, expect=412)
    check.call("HEAD", base + "/up_00000000000000000000000000000000", tus_auth, expect=404)
    octets = {**tus_auth, "Content-Type": "application/offset+octet-stream"}
    half = len(video) // 2
    first, rest = video[:half], video[half:]
    check.call("PATCH", location, {**tus_auth, "Upload-Offset": "0", "Content-Type": "text/plain"},
               b"", expect=415)
    check.call("PATCH", location, {**octets, "Upload-Offset": "5"}, b"", expect=409)
    check.call("PATCH", location, {**octets}, b"", expect=400)
    check.call("PATCH", location, {**octets, "Upload-Offset": "0",
                                   "Upload-Checksum": "md5 AAAA"}, first, expect=400)
    wrong = base64.b64encode(hashlib.sha256(b"other bytes").digest()).decode()
    check.call("PATCH", location, {**octets, "Upload-Offset": "0",
                                   "Upload-Checksum": "sha256 " + wrong}, first, expect=460)
    right = base64.b64encode(hashlib.sha256(first).digest()).decode()
    check.call("PATCH", location, {**octets, "Upload-Offset": "0",
                                   "Upload-Checksum": "sha256 " + right}, first, expect=204)
    check.call("HEAD", location, tus_auth, expect=200)
    check.call("PATCH", location, {**octets, "Upload-Offset": str(half)}, rest + b"x", expect=413)
    sha1 = base64.b64encode(hashlib.sha1(rest).digest()).decode()
    check.call("PATCH", location, {**octets, "Upload-Offset": str(half),
                                   "Upload-Checksum": "sha1 " + sha1}, rest, expect=204)
    check.call("HEAD", location, tus_auth, expect=200)
    # More for a complete upload: 409 (it is complete), sized or chunked.
    check.call("PATCH", location, {**octets, "Upload-Offset": str(len(video))}, b"x", expect=409)
    check.call("GET", f"/api/state/peel/me/{sid}/latest", auth, expect=200)

    # Creation with upload, then termination.
    made = check.call("POST", base, {**octets, "Upload-Length": str(len(video)),
                                     "Upload-Metadata": name}, video[:1000], expect=201)
    gone = made.headers.get("location", "")
    if gone:
        check.call("DELETE", gone, tus_auth, expect=204)
        check.call("DELETE", gone, tus_auth, expect=404)
        check.call("PATCH", gone, {**octets, "Upload-Offset": "1000"}, b"x", expect=404)

    # A finished file that is not media: 415 (4001), and the upload is gone.
    notes = check.call("POST", base, {**tus_auth, "Upload-Length": str(len(text))}, expect=201)
    where = notes.headers.get("location", "")
    if where:
        check.call("PATCH", where, {**octets, "Upload-Offset": "0"}, text, expect=415)
        check.call("HEAD", where, tus_auth, expect=404)


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    peel, spec_path = sys.argv[1], sys.argv[2]
    started = time.monotonic()
    spec = Spec(spec_path)
    problems = spec.check_document()
    for p in problems:
        print("FAIL  spec: " + p)
    if problems:
        sys.exit(f"{spec_path}: {len(problems)} problem(s) in the spec itself")
    print(f"ok    {spec_path}: OpenAPI {spec.doc['openapi']}, {len(spec.routes)} paths, "
          "refs and path parameters sound", flush=True)

    check = Check(spec)
    with tempfile.TemporaryDirectory(prefix="peel-openapi-") as folder:
        video, text = make_fixtures(folder)
        proc, check.url = start_server(peel, folder)
        try:
            got = flow(check, video, text)
            if got:
                tus_flow(check, got[0], got[1], video, text)
        except Exception as e:  # a bug of the flow, or an answer it could not read
            check.fail(f"the flow stopped: {type(e).__name__}: {e}")
        finally:
            proc.send_signal(signal.SIGTERM)
            try:
                code = proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                proc.kill()
                code = proc.wait()
                check.fail("peel serve did not stop within 60 s of SIGTERM")
            if code != 0:
                with open(os.path.join(folder, "server.log"), encoding="utf-8",
                          errors="replace") as f:
                    log = f.read()
                check.fail(f"peel serve exited {code} on SIGTERM, not 0:\n{log[-2000:]}")
            else:
                print("ok    peel serve stopped on SIGTERM with 0", flush=True)

    missing = []
    for template, _, _ in spec.routes:
        if template.startswith("/api/tus/"):
            continue
        for method in spec.doc["paths"][template]:
            if method in ("get", "put", "post", "delete", "options", "head", "patch") and \
                    (template, method) not in check.exercised:
                missing.append(f"{method.upper()} {template}")
    if missing:
        check.fail("not exercised: " + ", ".join(missing))
    seconds = time.monotonic() - started
    if check.failures:
        print(f"\n{len(check.failures)} failure(s) in {seconds:.1f} s:")
        for f in check.failures:
            print("  " + f.splitlines()[0])
        sys.exit(1)
    print(f"\nall answers match {spec_path} ({len(check.exercised)} operations exercised, "
          f"{seconds:.1f} s)")


if __name__ == "__main__":
    main()
