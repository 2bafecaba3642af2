#!/usr/bin/python3
"""A fault-injecting stand-in for Gemini's generateContent endpoint, for mer query's tests.

    gemini_mock.py --port-file PORT --log LOG.jsonl [--plan PLAN.json]

Listens on 127.0.0.1 (a free port, written to PORT once it is listening), answers every POST,
and appends one JSON line per request to LOG: the key, its attempt number, the time, the
behaviour chosen, whether the x-goog-api-key header held $MOCK_API_KEY, and whether the body
still carried a top-level "key" member (mer query must strip it).

The request's key is the text of its first part (contents[0].parts[0].text). What the mock
does on the n-th attempt of a key is the n-th entry of its behaviour list (the last entry
repeats): the list after a '|' in the text ("k1|429:1,500,ok"), else PLAN[key], else ["ok"].
Behaviours:
  ok              200, a GenerateContentResponse whose answer text is JSON echoing the key
  slow:S          sleep S seconds, then ok
  429[:S]         429 RESOURCE_EXHAUSTED, with Retry-After: S (seconds) when S is given
  429date:S       429 with Retry-After as an HTTP-date S seconds ahead
  429info:S       429 without Retry-After, a google.rpc.RetryInfo of S seconds in the body
  503[:S]         503 UNAVAILABLE, Retry-After as for 429
  400, 403, 404, 500, 502, 504   that status with a Google error body
  drop            close the connection without an answer
  malformed       200 with a body that is not JSON
  hang            never answer
A wrong or missing API key gets 403 PERMISSION_DENIED whatever the plan says.
Standard library only.
"""
import argparse
import email.utils
import json
import os
import socket
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

STATUS = {400: "INVALID_ARGUMENT", 403: "PERMISSION_DENIED", 404: "NOT_FOUND",
          429: "RESOURCE_EXHAUSTED", 500: "INTERNAL", 502: "UNAVAILABLE", 503: "UNAVAILABLE",
          504: "DEADLINE_EXCEEDED"}

lock = threading.Lock()
attempts = {}
plan = {}
log_file = None
expected_key = os.environ.get("MOCK_API_KEY", "")
forever = threading.Event()


def log(entry):
    with lock:
        log_file.write(json.dumps(entry, ensure_ascii=False) + "\n")
        log_file.flush()


def key_of(body):
    try:
        return body["contents"][0]["parts"][0]["text"]
    except (KeyError, IndexError, TypeError):
        return None


def behaviours_of(key):
    if key and "|" in key:
        return key.split("|", 1)[1].split(",")
    return plan.get(key, ["ok"])


def answer(key):
    text = json.dumps({"key": key, "label": "happy", "reasoning": "笑容 smiling"},
                      ensure_ascii=False)
    return {"candidates": [{"content": {"parts": [{"text": text}], "role": "model"},
                            "finishReason": "STOP", "index": 0}],
            "usageMetadata": {"promptTokenCount": 10, "candidatesTokenCount": 5,
                              "totalTokenCount": 15},
            "modelVersion": "mock-1"}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):  # quiet: the JSONL log is the record
        pass

    def send(self, code, body, headers=(), content_type="application/json"):
        data = body if isinstance(body, bytes) else body.encode()
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        for name, value in headers:
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def send_error_body(self, code, headers=(), details=None):
        # Pretty-printed, as Google's endpoint answers: mer must put it on one line.
        body = {"error": {"code": code, "message": f"mock error {code}",
                          "status": STATUS.get(code, "UNKNOWN")}}
        if details:
            body["error"]["details"] = details
        self.send(code, json.dumps(body, indent=2), headers)

    def do_POST(self):
        raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        try:
            body = json.loads(raw)
        except ValueError:
            body = None
        key = key_of(body)
        auth_ok = self.headers.get("x-goog-api-key") == expected_key and expected_key != ""
        with lock:
            attempts[key] = attempts.get(key, 0) + 1
            attempt = attempts[key]
        todo = behaviours_of(key)
        what = todo[min(attempt, len(todo)) - 1] if auth_ok else "403"
        log({"key": key, "attempt": attempt, "t": time.time(), "behaviour": what,
             "auth_ok": auth_ok, "key_member": isinstance(body, dict) and "key" in body,
             "model_member": isinstance(body, dict) and "model" in body,
             "json": isinstance(body, dict), "path": self.path,
             "content_type": self.headers.get("Content-Type")})
        self.act(what, key)

    def act(self, what, key):
        name, _, arg = what.partition(":")
        if name == "slow":
            time.sleep(float(arg))
            name = "ok"
        if name == "ok":
            self.send(200, json.dumps(answer(key), indent=2, ensure_ascii=False))
        elif name == "drop":
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
        elif name == "malformed":
            self.send(200, b"<html>upstream hiccup</html>", content_type="text/html")
        elif name == "hang":
            forever.wait()
        elif name == "429date":
            when = email.utils.formatdate(time.time() + float(arg), usegmt=True)
            self.send_error_body(429, [("Retry-After", when)])
        elif name == "429info":
            self.send_error_body(429, details=[
                {"@type": "type.googleapis.com/google.rpc.QuotaFailure", "violations": []},
                {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": f"{arg}s"}])
        else:
            self.send_error_body(int(name), [("Retry-After", arg)] if arg else [])


class Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        # A client killed mid-answer (the kill -9 tests) is expected; anything else is not.
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


def main():
    global log_file, plan
    ap = argparse.ArgumentParser()
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--log", required=True)
    ap.add_argument("--plan")
    args = ap.parse_args()
    if args.plan:
        with open(args.plan) as f:
            plan = json.load(f)
    log_file = open(args.log, "a", encoding="utf-8")
    server = Server(("127.0.0.1", 0), Handler)
    with open(args.port_file + ".tmp", "w") as f:
        f.write(f"{server.server_address[1]}\n")
    os.rename(args.port_file + ".tmp", args.port_file)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
