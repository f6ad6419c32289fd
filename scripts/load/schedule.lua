-- wrk script: POST /publishing/schedule across many accounts, each request a different
-- account (acc_bench_1 .. acc_bench_N, all on instagram, in a handful of zones) and requested
-- time (a random minute in the next 365 days). Used by scripts/bench-api.sh.
local accounts = tonumber(os.getenv("BENCH_ACCOUNTS") or "1000")
local base = tonumber(os.getenv("BENCH_BASE_EPOCH"))
local token = os.getenv("BENCH_TOKEN")
local counter = 0

function setup(thread)
  thread:set("seed", math.random(1, 1e9))
end

function init(args)
  math.randomseed(seed)
end

-- BENCH_SCALE=1: scripts/scale/run.sh's accounts instead (acc_0 .. acc_999999, every third on
-- instagram, each with ten logs, all of one status: published in the past year for 70 in 100,
-- scheduled in the coming one for 25) and clips (clip_0 .. clip_999).
local scale = os.getenv("BENCH_SCALE") == "1"

request = function()
  counter = counter + 1
  local t = base + 60 * math.random(0, 365 * 24 * 60)
  local account, clip
  if scale then
    local n = 3 * math.random(0, 333333)
    account, clip = "acc_" .. n, "clip_" .. (n % 1000)
  else
    local n = math.random(1, accounts)
    account, clip = "acc_bench_" .. n, "clip_bench_" .. n
  end
  local body = string.format(
    '{"clip_id":"%s","platform":"instagram","social_account_id":"%s",' ..
    '"scheduled_for":"%s","scheduled_by":"rule_engine"}',
    clip, account, os.date("!%Y-%m-%dT%H:%M:%SZ", t))
  local headers = { ["Content-Type"] = "application/json" }
  if token then headers["Authorization"] = "Bearer " .. token end
  return wrk.format("POST", "/publishing/schedule", headers, body)
end

local statuses = {}
response = function(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end

done = function(summary, latency, requests)
  io.write(string.format("requests: %d, errors: connect %d read %d write %d status %d timeout %d\n",
    summary.requests, summary.errors.connect, summary.errors.read, summary.errors.write,
    summary.errors.status, summary.errors.timeout))
  for _, p in ipairs({ 50, 90, 99, 99.9 }) do
    io.write(string.format("latency p%s: %.2f ms\n", p, latency:percentile(p) / 1000))
  end
  io.write(string.format("throughput: %.0f requests/s\n", summary.requests / (summary.duration / 1e6)))
end
