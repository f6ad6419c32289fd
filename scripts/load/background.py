#!/usr/bin/env python3
"""Part two's work beside a schedule load (scripts/bench-api.sh with BENCH_PART_TWO=1).

Standard library only. Run as
    background.py ADDR SECONDS WORKDIR
against a server started with --tick-interval 1 --allow-private-webhooks and the rules file
this script's caller wrote (YouTube: every hour of the day, no gap). It starts

- an adapter (what publish-worker POSTs each post to) answering 200 with a post id and metrics,
- a webhook receiver answering 204, subscribed to every event type (or to the comma-separated
  types in BACKGROUND_EVENT_TYPES, e.g. publish_published,publish_failed,publish_attempt_failed),
- and, for SECONDS, a driver that each second schedules POSTS_PER_SECOND YouTube posts due a
  few seconds later (the tick moves them to pending, publish-worker claims and completes them)
  and makes SERIES_PER_SECOND daily series (each makes its 14 days of occurrences at once).

The caller starts publish-worker against the adapter. At the end it prints what happened, so
a run shows the background was busy: posts published, series made, webhook requests received.
"""
import json
import os
import sys
import threading
import time
import urllib.error
import urllib.request
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

POSTS_PER_SECOND = 50
SERIES_PER_SECOND = 2
ACCOUNTS = 500

addr, seconds, work = sys.argv[1], int(sys.argv[2]), sys.argv[3]
received = {"webhooks": 0, "published": 0}
lock = threading.Lock()


class Quiet(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def read_body(self):
        return self.rfile.read(int(self.headers.get("Content-Length", 0)))


class Adapter(Quiet):
    def do_POST(self):
        post = json.loads(self.read_body())
        with lock:
            received["published"] += 1
        body = json.dumps({"platform_post_id": "yt_" + post["log"]["id"],
                           "metrics": {"views": 100 + received["published"] % 900}}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class Receiver(Quiet):
    def do_POST(self):
        self.read_body()
        with lock:
            received["webhooks"] += 1
        self.send_response(204)
        self.send_header("Content-Length", "0")
        self.end_headers()


def serve(handler):
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server.server_address[1]


def call(method, path, body=None):
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(addr + path, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return json.loads(answer.read() or b"null")
    except urllib.error.HTTPError as error:
        sys.exit(f"background: {method} {path} answered {error.code}: {error.read().decode()}")


def iso(t):
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def main():
    adapter, receiver = serve(Adapter), serve(Receiver)
    with open(f"{work}/adapter_port", "w") as f:
        f.write(str(adapter))
    subscription = {"url": f"http://127.0.0.1:{receiver}/hook"}
    if os.environ.get("BACKGROUND_EVENT_TYPES"):
        subscription["event_types"] = os.environ["BACKGROUND_EVENT_TYPES"].split(",")
    call("POST", "/webhooks", subscription)
    for i in range(ACCOUNTS):
        call("POST", "/accounts", {"id": f"acc_live_{i}", "platform": "youtube", "timezone": "UTC"})
    call("POST", "/clips", {"id": "clip_live", "title": "live"})
    # Ready: the caller starts publish-worker and the schedule load now.
    open(f"{work}/background_ready", "w").close()
    made = {"posts": 0, "series": 0}
    start = time.monotonic()
    for second in range(seconds):
        due = datetime.now(timezone.utc) + timedelta(seconds=3)
        for n in range(POSTS_PER_SECOND):
            account = (second * POSTS_PER_SECOND + n) % ACCOUNTS
            call("POST", "/publishing/schedule", {
                "clip_id": "clip_live", "social_account_id": f"acc_live_{account}",
                "platform": "youtube", "scheduled_for": iso(due)})
            made["posts"] += 1
        for n in range(SERIES_PER_SECOND):
            account = (second * SERIES_PER_SECOND + n) % ACCOUNTS
            call("POST", "/publishing/series", {
                "clip_id": "clip_live", "social_account_id": f"acc_live_{account}",
                "platform": "youtube",
                "dtstart": iso(due + timedelta(hours=1 + second % 20)).rstrip("Z"),
                "rrule": "FREQ=DAILY"})
            made["series"] += 1
        time.sleep(max(0.0, start + second + 1 - time.monotonic()))
    elapsed = time.monotonic() - start
    time.sleep(3)
    with lock:
        print(f"background: in {elapsed:.1f} s (asked: {seconds}), "
              f"scheduled {made['posts']} due posts and {made['series']} daily series; "
              f"the adapter published {received['published']}, "
              f"the receiver got {received['webhooks']} webhook requests", flush=True)


main()
