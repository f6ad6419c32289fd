"""A client generated from /openapi.json by openapi-python-client, used as a client developer
would use it against the real server: typed models with datetimes and enums, the codes of
errors, Location headers, the rejected shape. Exits non-zero on the first surprise.

    python client_check.py GENERATED_DIR BASE_URL TOKEN
"""

import datetime
import sys

generated, base_url, token = sys.argv[1:4]
sys.path.insert(0, generated)

from client import AuthenticatedClient, Client  # noqa: E402
from client.api.accounts import create_account, get_account  # noqa: E402
from client.api.clips import create_clip  # noqa: E402
from client.api.health import healthz  # noqa: E402
from client.api.ledger import ledger_feed, list_events  # noqa: E402
from client.api.monitoring import metrics  # noqa: E402
from client.api.publishing import (  # noqa: E402
    cancel,
    get_log,
    list_logs,
    list_clip_schedule,
    reschedule,
    schedule,
    schedule_batch,
    tick,
)
from client.models import (  # noqa: E402
    AccountIn,
    AccountOut,
    BatchIn,
    ClipIn,
    ErrorBody,
    ErrorCode,
    EventType,
    LogOut,
    Platform,
    Rejected,
    RescheduleIn,
    RescheduleOut,
    ScheduledBy,
    ScheduleIn,
    ScheduleOk,
    Status,
    TickOutcome,
)

UTC = datetime.timezone.utc


def expect(what, got, wanted):
    if got != wanted:
        sys.exit(f"client check: {what}: got {got!r}, wanted {wanted!r}")


def expect_type(what, value, kind):
    if not isinstance(value, kind):
        sys.exit(f"client check: {what}: {value!r} is a {type(value).__name__}, not a {kind.__name__}")


api = AuthenticatedClient(base_url=base_url, token=token)
anonymous = Client(base_url=base_url)

# Open routes need no token.
health = healthz.sync_detailed(client=anonymous)
expect("GET /healthz", health.status_code, 200)

created = create_account.sync_detailed(
    client=api,
    body=AccountIn(id="acc_py", platform=Platform.INSTAGRAM, timezone="America/New_York"),
)
expect("POST /accounts status", created.status_code, 201)
expect_type("the created account", created.parsed, AccountOut)
expect("its Location", created.headers["location"], "/accounts/acc_py")
expect_type("its created_at", created.parsed.created_at, datetime.datetime)
expect("its platform", created.parsed.platform, Platform.INSTAGRAM)
expect("POST /clips status", create_clip.sync_detailed(client=api, body=ClipIn(id="clip_py")).status_code, 201)

missing = get_account.sync_detailed("nobody", client=api)
expect("GET /accounts/nobody status", missing.status_code, 404)
expect_type("its body", missing.parsed, ErrorBody)
expect("its code", missing.parsed.code, ErrorCode.NOT_FOUND)

# 13:00 in New York is before Instagram's 18:00 window: the post moves to 22:00 UTC.
asked = datetime.datetime(2031, 6, 1, 17, 0, tzinfo=UTC)
post = schedule.sync_detailed(
    client=api,
    body=ScheduleIn(clip_id="clip_py", platform=Platform.INSTAGRAM, social_account_id="acc_py",
                    scheduled_for=asked),
)
expect("POST /publishing/schedule status", post.status_code, 201)
expect_type("the scheduled post", post.parsed, ScheduleOk)
expect("its time", post.parsed.scheduled_for, datetime.datetime(2031, 6, 1, 22, 0, tzinfo=UTC))
log_id = post.parsed.publish_log_id
expect("its Location", post.headers["location"], f"/publishing/logs/{log_id}")

log = get_log.sync_detailed(log_id, client=api).parsed
expect_type("GET /publishing/logs/{id}", log, LogOut)
expect("its status", log.status, Status.SCHEDULED)
expect("its scheduled_by", log.scheduled_by, ScheduledBy.MANUAL)
expect_type("its window end", log.scheduled_window_end, datetime.datetime)

refused = schedule.sync_detailed(
    client=api,
    body=ScheduleIn(clip_id="nope", platform=Platform.INSTAGRAM, social_account_id="acc_py"),
)
expect("a schedule for an unknown clip, status", refused.status_code, 422)
expect_type("its body", refused.parsed, Rejected)
expect("its code", refused.parsed.code, ErrorCode.CLIP_NOT_FOUND)

moved = reschedule.sync_detailed(
    log_id, client=api,
    body=RescheduleIn(scheduled_for=datetime.datetime(2031, 6, 2, 23, 0, tzinfo=UTC)),
)
expect("POST /publishing/logs/{id}/reschedule status", moved.status_code, 200)
expect_type("its body", moved.parsed, RescheduleOut)
expect("its time", moved.parsed.scheduled_for, datetime.datetime(2031, 6, 2, 23, 0, tzinfo=UTC))

batch = schedule_batch.sync_detailed(
    client=api,
    body=BatchIn(items=[
        ScheduleIn(clip_id="clip_py", platform=Platform.INSTAGRAM, social_account_id="acc_py",
                   scheduled_for=datetime.datetime(2031, 6, 3, 23, 0, tzinfo=UTC)),
        ScheduleIn(clip_id="clip_py", platform=Platform.TIKTOK, social_account_id="acc_py"),
    ]),
)
expect("POST /publishing/schedule/batch status", batch.status_code, 200)
first, second = batch.parsed.results
expect_type("its first answer", first, ScheduleOk)
expect_type("its second answer", second, Rejected)
expect("the second's code", second.code, ErrorCode.PLATFORM_MISMATCH)

events = list_events.sync_detailed(client=api, entity_id=log_id, event_type=EventType.PUBLISH_SCHEDULED_ADJUSTED)
expect("GET /ledger/events status", events.status_code, 200)
expect("its event types", {e.event_type for e in events.parsed}, {EventType.PUBLISH_SCHEDULED_ADJUSTED})

schedule_of_clip = list_clip_schedule.sync_detailed("clip_py", client=api).parsed
expect("the clip's schedule", [l.id for l in schedule_of_clip][0], log_id)

outcome = tick.sync_detailed(client=api, dry_run=True).parsed
expect_type("POST /publishing/scheduler/tick", outcome, TickOutcome)
expect("its dry_run", outcome.dry_run, True)

cancelled = cancel.sync_detailed(log_id, client=api).parsed
expect("the cancelled log's status", cancelled.status, Status.CANCELLED)
again = cancel.sync_detailed(log_id, client=api)
expect("cancelling it again", (again.status_code, again.parsed.code), (409, ErrorCode.INVALID_STATE))

page = list_logs.sync_detailed(client=api, social_account_id="acc_py", status=Status.CANCELLED, limit=1).parsed
expect("GET /publishing/logs, first page", [l.id for l in page.items], [log_id])
expect("its cursor: none, the last page", page.next_cursor, None)
feed = ledger_feed.sync_detailed(client=api, limit=1000).parsed
expect("GET /ledger/feed holds the post's events", log_id in {e.entity_id for e in feed.events}, True)
# `next` is `next_` in Python, which has a builtin of that name.
expect("an empty page keeps the cursor", ledger_feed.sync_detailed(client=api, after=feed.next_).parsed.next_, feed.next_)

scrape = metrics.sync_detailed(client=api)
expect("GET /metrics status", scrape.status_code, 200)
expect("its rejected outcome", 'scheduler_schedule_outcomes_total{outcome="rejected",code="clip_not_found"} 1' in scrape.parsed, True)

print("client check: the generated client schedules, reads and is refused as documented")
