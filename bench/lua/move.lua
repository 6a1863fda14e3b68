-- Stage moves, each one valid: BENCH_MOVES lists adoptions at `identified`
-- ("<id> <version>" a line, in random order). Thread t of T takes items
-- t, t+T, t+2T, ... and moves each to `paused` with If-Match its version; once
-- through the list it starts again and moves each back to `identified` (its
-- version now one more), and so on, so every request is a move the rules
-- allow, however long the run. A 409 or 412 means something else moved it or
-- the server lost a write: responses are counted by status and reported.

dofile(os.getenv("BENCH_LUA") .. "/report.lua")

local ids, versions = {}, {}
for line in io.lines(os.getenv("BENCH_MOVES")) do
  local id, version = line:match("^(%S+)%s+(%d+)$")
  if id then
    table.insert(ids, id)
    table.insert(versions, tonumber(version))
  end
end
assert(#ids > 0, "BENCH_MOVES has no adoptions")

local nthreads = tonumber(os.getenv("BENCH_THREADS") or "1")
local sent = 0
local verifying = false

function init(args)
  -- wrk builds one request from thread 0 to check it, and never sends it:
  -- that one must not use up an adoption.
  verifying = (tid == 0)
end

function request()
  local k = sent * nthreads + tid
  if verifying then
    verifying = false
  else
    sent = sent + 1
  end
  local i = k % #ids + 1
  local pass = math.floor(k / #ids)
  local to_stage = (pass % 2 == 0) and "paused" or "identified"
  return wrk.format(
    "POST",
    "/api/v1/adoptions/" .. ids[i] .. "/transitions",
    {
      ["Authorization"] = wrk.headers["Authorization"],
      ["Content-Type"] = "application/json",
      ["If-Match"] = '"' .. (versions[i] + pass) .. '"',
    },
    '{"to_stage": "' .. to_stage .. '", "reason": "bench"}'
  )
end

function response(status, headers, body)
  count_status(status)
end
