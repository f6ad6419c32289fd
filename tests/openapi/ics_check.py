"""The calendar feed read by an independent parser (the `icalendar` package): an account's
posts as RFC 5545 that a calendar program accepts, opened by the account's key alone.

    python ics_check.py BASE_URL TOKEN
"""

import datetime
import json
import sys
import urllib.error
import urllib.request

import icalendar

BASE, TOKEN = sys.argv[1], sys.argv[2]


def call(method, path, body=None, token=True):
    request = urllib.request.Request(BASE + path, method=method)
    if token:
        request.add_header("Authorization", f"Bearer {TOKEN}")
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, data) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read()


status, _, body = call("POST", "/accounts", {"id": "acc_ics", "platform": "instagram",
                                               "timezone": "Europe/Berlin", "handle": "@ics"})
assert status == 201, body
key = json.loads(body)["calendar_key"]
status, _, body = call("POST", "/clips", {"id": "clip_ics", "title": "Ünïcode; commas, and a title long enough to fold over the 75-octet line limit"})
assert status == 201, body
logs = []
for when in ["2031-03-10T18:00:00Z", "2031-03-11T18:00:00Z", "2031-03-12T18:00:00Z"]:
    status, _, body = call("POST", "/publishing/schedule", {
        "clip_id": "clip_ics", "platform": "instagram", "social_account_id": "acc_ics",
        "scheduled_for": when})
    assert status == 201, body
    logs.append(json.loads(body)["publish_log_id"])
status, _, body = call("POST", f"/publishing/logs/{logs[1]}/reschedule",
                       {"scheduled_for": "2031-03-20T19:00:00Z"})
assert status == 200, body
status, _, body = call("POST", f"/publishing/logs/{logs[2]}/cancel")
assert status == 200, body

status, headers, body = call("GET", f"/accounts/acc_ics/calendar.ics?key={key}", token=False)
assert status == 200, body
assert headers["Content-Type"] == "text/calendar; charset=utf-8", headers["Content-Type"]
assert headers["Cache-Control"] == "private, no-cache", headers["Cache-Control"]
calendar = icalendar.Calendar.from_ical(body)
assert str(calendar["VERSION"]) == "2.0"
assert "publishing-scheduler" in str(calendar["PRODID"])
assert calendar.decoded("REFRESH-INTERVAL") == datetime.timedelta(minutes=15), calendar["REFRESH-INTERVAL"]
assert str(calendar["X-WR-CALNAME"]) == "@ics on instagram", calendar["X-WR-CALNAME"]
events = {str(e["UID"]): e for e in calendar.walk("VEVENT")}
assert set(events) == {f"{logs[0]}@publishing-scheduler", f"{logs[1]}@publishing-scheduler"}, events
first, moved = events[f"{logs[0]}@publishing-scheduler"], events[f"{logs[1]}@publishing-scheduler"]
utc = datetime.timezone.utc
assert first.decoded("DTSTART") == datetime.datetime(2031, 3, 10, 18, 0, tzinfo=utc)
assert first.decoded("DTEND") == datetime.datetime(2031, 3, 10, 18, 15, tzinfo=utc)
assert moved.decoded("DTSTART") == datetime.datetime(2031, 3, 20, 19, 0, tzinfo=utc)
assert int(first["SEQUENCE"]) == 0 and int(moved["SEQUENCE"]) == 1
assert str(first["SUMMARY"]) == "instagram: Ünïcode; commas, and a title long enough to fold over the 75-octet line limit", first["SUMMARY"]
assert "At 19:00 in Europe/Berlin" in str(first["DESCRIPTION"]), first["DESCRIPTION"]
assert str(first["STATUS"]) == "TENTATIVE"
assert str(first["TRANSP"]) == "TRANSPARENT"

status, _, _ = call("GET", f"/accounts/acc_ics/calendar.ics?key={key}x", token=False)
assert status == 404
print("ics_check: the feed parses with icalendar", icalendar.__version__, "and says what it should")
