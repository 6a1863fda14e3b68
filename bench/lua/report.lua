-- Shared by the benchmark's wrk scripts: numbers each thread, sends the API
-- key (or the session cookie), and at the end prints one line, "BENCH_JSON {...}", that bench/run.py
-- reads: requests, duration, errors, latency percentiles (microseconds) and,
-- where a script counts them, the responses by status code.

local key = os.getenv("BENCH_KEY")
if key and #key > 0 then
  wrk.headers["Authorization"] = "Bearer " .. key
end
-- The pages sign in with a session cookie instead ("hie_session=<token>").
local cookie = os.getenv("BENCH_COOKIE")
if cookie and #cookie > 0 then
  wrk.headers["Cookie"] = cookie
end

local threads = {}

function setup(thread)
  thread:set("tid", #threads)
  table.insert(threads, thread)
end

local function json_statuses()
  local merged = {}
  for _, thread in ipairs(threads) do
    local counted = thread:get("statuses")
    if type(counted) == "table" then
      for status, n in pairs(counted) do
        merged[status] = (merged[status] or 0) + n
      end
    end
  end
  local parts = {}
  for status, n in pairs(merged) do
    table.insert(parts, string.format('"%d": %d', status, n))
  end
  return "{" .. table.concat(parts, ", ") .. "}"
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests": %d, "duration_us": %d, "bytes": %d, ' ..
    '"errors": {"connect": %d, "read": %d, "write": %d, "status": %d, "timeout": %d}, ' ..
    '"latency_us": {"mean": %.1f, "max": %d, "p50": %d, "p90": %d, "p99": %d}, "statuses": %s}\n',
    summary.requests, summary.duration, summary.bytes,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency.mean, latency.max, latency:percentile(50), latency:percentile(90), latency:percentile(99),
    json_statuses()))
end

-- Scripts that want responses counted by status call this from response().
statuses = {}
function count_status(status)
  statuses[status] = (statuses[status] or 0) + 1
end
